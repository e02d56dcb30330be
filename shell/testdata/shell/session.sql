-- A session as an analyst types it: meta-commands, statements over
-- several lines, two on one line, a bad statement in the middle.
.help
CREATE TABLE customer (
    customer_id BIGINT,
    name        VARCHAR,   -- a comment; with a semicolon
    city        VARCHAR,
    spend       DECIMAL(18,2),
    visits      INTEGER,
    joined      DATE
);
INSERT INTO customer VALUES
    (1, '张三', '北京', 1299.00, 12, DATE '2023-01-05'),
    (2, 'O''Brien; Pat', 'Shanghai', 35.5, 1, NULL),
    (3, NULL, '广州', -20.00, NULL, DATE '2024-02-29');
.tables cust%
.schema customer
SELECT customer_id, name, city, spend, visits, joined
FROM customer
ORDER BY customer_id;
SELECT count(*) AS n FROM customer; SELECT sum(spend) AS total FROM customer;
SELECT * FROM customerz;
SELECT 'still running' AS after_error;
.mode csv
SELECT customer_id, name, spend, joined FROM customer ORDER BY 1;
.mode json
SELECT customer_id, name, spend, joined FROM customer ORDER BY 1;
SELECT 1 AS a WHERE false;
.mode line
SELECT customer_id, name, city FROM customer WHERE customer_id <= 2 ORDER BY 1;
.mode
.mode xml
.nosuch
.mode table
SELECT $$dollar; quoted$$ AS d, E'it\'s' AS e, [1, 2, NULL] AS l, {'k': 'v'} AS s, INTERVAL 90 MINUTE AS i;
SELECT 1
  /* a block comment; with a semicolon */
  + 1 AS two;
BEGIN;
INSERT INTO customer VALUES (4, 'temp', NULL, 0, 0, NULL);
ROLLBACK;
SELECT count(*) AS after_rollback FROM customer;
SELECT 'no semicolon at the end' AS last
