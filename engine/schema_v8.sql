-- Identity resolution's evidence: why a customer's records are together
-- (ckm identity explain). Each load writes one row per customer and key of
-- the records it resolved, with the rule that used (or refused) the key.
-- key_value is the normalised identifier, as in etl_identity.
CREATE TABLE identity_link (
    run_id      BIGINT  NOT NULL,
    customer_id BIGINT  NOT NULL,
    key_type    VARCHAR NOT NULL,   -- member_card | id_number | mobile | email
    key_value   VARCHAR NOT NULL,
    -- strong: a card or valid ID number links its records;
    -- id_typo: an ID number one digit from another of the customer's (detail), linked by evidence;
    -- weak: a mobile or e-mail only this customer holds links its records;
    -- shared: a mobile or e-mail other customers hold too (detail) links nothing;
    -- shared_by_time: records carrying only shared keys joined this customer, its holder at their time and channel;
    -- shared_alone: such records no holder could claim stand as their own customer.
    rule        VARCHAR NOT NULL CHECK (rule IN ('strong', 'id_typo', 'weak', 'shared', 'shared_by_time', 'shared_alone')),
    detail      VARCHAR,
    records     BIGINT  NOT NULL,
    first_seen  TIMESTAMP,
    last_seen   TIMESTAMP
);
