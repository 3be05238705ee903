DROP TABLE ééééééééééééééééééééééééééééééééééééééééé;
DROP TABLE "Order Lines";
