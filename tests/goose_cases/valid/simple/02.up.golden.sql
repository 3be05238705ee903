INSERT INTO a VALUES (1); -- a comment after the semicolon
