DROP TRIGGER orders_touch ON orders;
DROP FUNCTION pairs;
DROP PROCEDURE tidy_up;
DROP FUNCTION touch();
DROP FUNCTION clamp(numeric);
DROP SCHEMA util;
