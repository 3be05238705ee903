SELECT f();
