CREATE TABLE contact (
    customer_id BIGINT,
    id_number   VARCHAR,
    mobile      VARCHAR,
    email       VARCHAR,
    "手机号"     VARCHAR,
    note        VARCHAR,
    email_count INTEGER
);
INSERT INTO contact VALUES
    (1, '11010519491231002X', '+8613800138000', 'abc@b.cn', '13800138000', 'called 139 1234 5678, id 440524188001010014, mail li.si@example.com', 2),
    (2, NULL, NULL, NULL, NULL, 'order 20240105000000000001 no personal data', 0);
SELECT * FROM contact ORDER BY customer_id;
SELECT id_number AS who, upper(email) AS shouting FROM contact WHERE customer_id = 1;
.pii
.pii on
SELECT id_number, mobile FROM contact WHERE customer_id = 1;
.pii off
SELECT id_number, mobile FROM contact WHERE customer_id = 1;
