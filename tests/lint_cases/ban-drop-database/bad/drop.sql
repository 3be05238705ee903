DROP DATABASE production;
