DROP FUNCTION describe(tier);
DROP FUNCTION level_of(integer);
DROP TYPE tier;
DROP FUNCTION greet;
DROP FUNCTION price(numeric, numeric[]);
