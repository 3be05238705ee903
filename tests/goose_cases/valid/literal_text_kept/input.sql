-- +goose Up
INSERT INTO t VALUES ('a  b	',
'-- not a comment',
'/* nor this */',
'trailing   

-- a line of the literal
end');
