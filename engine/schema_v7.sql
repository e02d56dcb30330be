-- Version 7: personal data (issue 10). The one mask of each kind as SQL
-- macros (package privacy holds the same masks in Go; its tests keep the
-- two equal), the audit of reveals, and the relations an analyst reads.

-- ckm_pii_fold makes the spellings of one number alike: full-width forms
-- become ASCII; spaces, dashes, dots, parentheses and invisible format
-- characters go (privacy.Fold).
CREATE OR REPLACE MACRO ckm_pii_fold(v) AS
    regexp_replace(translate(CAST(v AS VARCHAR), '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ', '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~  '), '[\t\n\f\r ().\x{feff}\x{200b}\x{200c}\x{200d}\x{2060}-]', '', 'g');
-- ckm_pii_fold_text folds full-width forms and drops spaces only.
CREATE OR REPLACE MACRO ckm_pii_fold_text(v) AS
    regexp_replace(translate(CAST(v AS VARCHAR), '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　 ', '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~  '), '[\t\n\f\r ]', '', 'g');

-- An ID number keeps its 6-digit region code only: the birth date, the
-- sequence number (sex) and the check digit are hidden.
CREATE OR REPLACE MACRO ckm_mask_id_number(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN regexp_full_match(ckm_pii_fold(v), '[0-9]{6}(?:[0-9*]{9}|[0-9*]{11}[0-9Xx*])') THEN left(ckm_pii_fold(v), 6) || '************'
    ELSE repeat('*', length(ckm_pii_fold(v))) END;
-- A mainland mobile in any spelling gives +86 138****8000; another number
-- keeps its last 4 characters when it has at least 8.
CREATE OR REPLACE MACRO ckm_mask_mobile(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN regexp_full_match(ckm_pii_fold(v), '(?:\+86|0086|86)?(?:17951|17911|12593|17909|10193)?(1[3-9][0-9])[0-9*]{4}([0-9]{4})')
        THEN '+86 ' || regexp_extract(ckm_pii_fold(v), '^(?:\+86|0086|86)?(?:17951|17911|12593|17909|10193)?(1[3-9][0-9])[0-9*]{4}([0-9]{4})$', 1) || '****'
            || regexp_extract(ckm_pii_fold(v), '^(?:\+86|0086|86)?(?:17951|17911|12593|17909|10193)?(1[3-9][0-9])[0-9*]{4}([0-9]{4})$', 2)
    WHEN length(ckm_pii_fold(v)) < 8 THEN repeat('*', length(ckm_pii_fold(v)))
    ELSE repeat('*', length(ckm_pii_fold(v)) - 4) || right(ckm_pii_fold(v), 4) END;
CREATE OR REPLACE MACRO ckm_mask_phone(v) AS ckm_mask_mobile(v);
-- An e-mail address keeps the first character and the domain, in lower case.
CREATE OR REPLACE MACRO ckm_mask_email(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN lower(ckm_pii_fold_text(v)) = '' THEN ''
    WHEN regexp_matches(lower(ckm_pii_fold_text(v)), '(?s)^.+@') THEN left(lower(ckm_pii_fold_text(v)), 1) || '***' || regexp_extract(lower(ckm_pii_fold_text(v)), '(@[^@]*)$', 1)
    ELSE '***' END;
CREATE OR REPLACE MACRO ckm_mask_name(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN trim(CAST(v AS VARCHAR), ' ' || chr(9) || chr(10) || chr(12) || chr(13) || chr(160) || chr(12288)) = '' THEN ''
    ELSE left(trim(CAST(v AS VARCHAR), ' ' || chr(9) || chr(10) || chr(12) || chr(13) || chr(160) || chr(12288)), 1) || '**' END;
CREATE OR REPLACE MACRO ckm_mask_address(v) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN trim(CAST(v AS VARCHAR), ' ' || chr(9) || chr(10) || chr(12) || chr(13) || chr(160) || chr(12288)) = '' THEN ''
    ELSE '***' END;

-- privacy_reveal is the audit of raw personal data shown or written: who
-- (the OS user and the role granted), when, what (the command and, for a
-- statement, its text with personal values masked), why (the reason given)
-- and how many rows.
CREATE TABLE IF NOT EXISTS privacy_reveal (
    reveal_id   BIGINT PRIMARY KEY,
    revealed_at TIMESTAMP,
    os_user     VARCHAR,
    role        VARCHAR,
    command     VARCHAR,
    detail      VARCHAR,
    reason      VARCHAR,
    rows        BIGINT
);

-- The analyst's relations: an analyst session resolves names in schema
-- analyst first, so dim_customer is this masked view, and the sandbox lets
-- it read nothing that holds raw personal data. Where the masked ID number
-- is published, the birth date is published as its year only (a date next
-- to the region code and sex would narrow the ID to a few hundred numbers).
CREATE SCHEMA IF NOT EXISTS analyst;
CREATE OR REPLACE VIEW analyst.dim_customer AS
SELECT * EXCLUDE (birth_date) REPLACE (
        ckm_mask_id_number(id_number) AS id_number,
        ckm_mask_name(name) AS name,
        ckm_mask_mobile(mobile) AS mobile,
        ckm_mask_email(email) AS email),
    CAST(year(birth_date) AS INTEGER) AS birth_year
FROM main.dim_customer;
-- The reject ledger without the raw values and records (ckm rejects shows
-- them masked).
CREATE OR REPLACE VIEW analyst.etl_reject AS
SELECT * EXCLUDE (raw_value, raw_record) FROM main.etl_reject;
-- The natural keys of contacts and campaign responses hold the customer's
-- mobile or member card as the source gave it (mobile|time, code|mobile):
-- the identifier part is masked as a phone number.
CREATE OR REPLACE VIEW analyst.fact_interaction AS
SELECT * REPLACE (CASE
        WHEN interaction_id IS NULL THEN NULL
        WHEN strpos(interaction_id, '|') = 0 THEN ckm_mask_phone(interaction_id)
        ELSE ckm_mask_phone(regexp_extract(interaction_id, '^([^|]*)', 1)) || regexp_extract(interaction_id, '(?s)(\|.*)$', 1)
    END AS interaction_id)
FROM main.fact_interaction;
CREATE OR REPLACE VIEW analyst.fact_campaign AS
SELECT * REPLACE (CASE
        WHEN response_id IS NULL OR strpos(response_id, '|') = 0 THEN response_id
        ELSE regexp_extract(response_id, '^([^|]*\|)', 1) || ckm_mask_phone(regexp_extract(response_id, '(?s)^[^|]*\|(.*)$', 1))
    END AS response_id)
FROM main.fact_campaign;
