-- identity_link.channels: the channels (pos, web, crm, ...) whose records
-- carried the key for the customer, so a later load can tell which holder
-- of a shared number uses it in a record's channel (etl/identity_prior.go).
ALTER TABLE identity_link ADD COLUMN channels VARCHAR[];
