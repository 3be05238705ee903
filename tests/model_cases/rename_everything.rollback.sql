DROP TABLE lids;
DROP TABLE crates;
DROP FUNCTION crate_touch();
