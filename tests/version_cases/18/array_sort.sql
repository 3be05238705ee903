CREATE VIEW sorted AS SELECT array_sort(ARRAY[3, 1, 2]) AS a;
