SELECT 2 -- not done;
+ 3;
