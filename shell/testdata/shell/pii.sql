SELECT * FROM dim_contact ORDER BY customer_id;
SELECT id_number AS who, upper(email) AS shouting FROM dim_contact WHERE customer_id = 1;
.pii
.pii on
SELECT id_number, mobile FROM dim_contact WHERE customer_id = 1;
.pii off
SELECT id_number, mobile FROM dim_contact WHERE customer_id = 1;
