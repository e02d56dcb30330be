-- Version 11: personal data protected at rest (privacy/vault).
--
-- vault_key holds the warehouse's data key, wrapped (AES-256-GCM) by a
-- key-encryption key kept outside the warehouse (a key file or CKM_KEY);
-- a warehouse with a row here is protected: loads need the key, and
-- analytical tables hold tokens (HMAC-SHA-256) and masks instead of raw ID
-- numbers, mobiles and e-mails.
CREATE TABLE vault_key (
    key_id           INTEGER PRIMARY KEY CHECK (key_id = 1),
    wrapped_data_key BLOB      NOT NULL,
    kek_id           VARCHAR   NOT NULL,   -- names the wrapping key without revealing it
    created_at       TIMESTAMP NOT NULL,
    rotated_at       TIMESTAMP NOT NULL
);
-- One key per customer, wrapped by the data key: it seals the customer's
-- raw values, and ckm forget destroys it (crypto-shredding).
CREATE TABLE vault_customer_key (
    customer_id BIGINT PRIMARY KEY,
    wrapped_key BLOB   NOT NULL,
    run_id      BIGINT
);
-- The raw values, each sealed with its customer's key; token is what the
-- analytical tables hold in its place.
CREATE TABLE vault_value (
    token       VARCHAR NOT NULL,
    customer_id BIGINT  NOT NULL,
    kind        VARCHAR NOT NULL,          -- id_number | mobile | email
    sealed      BLOB    NOT NULL,
    run_id      BIGINT,
    PRIMARY KEY (token, customer_id)
);
-- Erasure requests carried out (ckm forget): who, when, why, what went.
CREATE TABLE vault_forgotten (
    customer_id   BIGINT    NOT NULL,
    forgotten_at  TIMESTAMP NOT NULL,
    os_user       VARCHAR,
    reason        VARCHAR   NOT NULL,
    values_sealed BIGINT,                  -- sealed values made unrecoverable
    links_broken  BIGINT,                  -- identity keys and links removed
    ledger_redacted BIGINT                 -- reject-ledger records removed
);
-- The masked display value beside each identity key of identity_link
-- (the key itself is a token on a protected warehouse; etl_identity's
-- tokens find theirs in vault_display).
ALTER TABLE identity_link ADD COLUMN key_display VARCHAR;
-- The masked display value of each token, shown where a protected
-- warehouse's dim_customer holds a token for an ID number, mobile or
-- e-mail (a mask cannot be computed from a token).
CREATE TABLE vault_display (
    token   VARCHAR PRIMARY KEY,
    kind    VARCHAR NOT NULL,
    display VARCHAR
);
CREATE OR REPLACE VIEW analyst.dim_customer AS
SELECT d.* EXCLUDE (birth_date) REPLACE (
        coalesce(i.display, ckm_mask_id_number(d.id_number)) AS id_number,
        ckm_mask_name(d.name) AS name,
        coalesce(m.display, ckm_mask_mobile(d.mobile)) AS mobile,
        coalesce(e.display, ckm_mask_email(d.email)) AS email),
    CAST(year(d.birth_date) AS INTEGER) AS birth_year
FROM main.dim_customer d
LEFT JOIN main.vault_display i ON i.token = d.id_number
LEFT JOIN main.vault_display m ON m.token = d.mobile
LEFT JOIN main.vault_display e ON e.token = d.email;
