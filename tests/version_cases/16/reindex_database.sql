-- transactional: false
REINDEX DATABASE;
