second');
