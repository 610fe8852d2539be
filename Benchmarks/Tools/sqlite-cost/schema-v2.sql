CREATE TABLE journal (
sequence INTEGER PRIMARY KEY CHECK (sequence > 0),
idempotency_key ANY NOT NULL UNIQUE CHECK (typeof(idempotency_key) IN ('integer', 'text')),
payload_digest INTEGER NOT NULL,
command BLOB NOT NULL,
outcome BLOB NOT NULL
) STRICT;
CREATE TABLE transfers (
id INTEGER PRIMARY KEY CHECK (id > 0),
entry INTEGER NOT NULL REFERENCES journal (sequence),
kind TEXT NOT NULL CHECK ((kind = 'posted' OR kind = 'pending' OR kind = 'postPending' OR kind = 'voidPending' OR kind = 'reversal')),
resolves INTEGER REFERENCES transfers (id)
CHECK ((resolves IS NULL) = (kind IN ('posted', 'pending')) AND (resolves IS NULL OR resolves < id)),
key_operation TEXT CHECK ((key_operation = 'funding' OR key_operation = 'grant' OR key_operation = 'reversal' OR key_operation = 'withdrawal')),
key_campaign ANY CHECK ((typeof(key_campaign) = 'integer' OR typeof(key_campaign) = 'text' OR typeof(key_campaign) = 'null')),
key_rule ANY CHECK ((typeof(key_rule) = 'integer' OR typeof(key_rule) = 'text' OR typeof(key_rule) = 'null')),
key_beneficiary ANY CHECK ((typeof(key_beneficiary) = 'integer' OR typeof(key_beneficiary) = 'text' OR typeof(key_beneficiary) = 'null')),
key_source ANY CHECK ((typeof(key_source) = 'integer' OR typeof(key_source) = 'text' OR typeof(key_source) = 'null')),
key_part INTEGER,
debit_owner TEXT NOT NULL CHECK ((debit_owner = 'budget' OR debit_owner = 'wallet' OR debit_owner = 'receivable' OR debit_owner = 'outside')),
debit_owner_id ANY CHECK ((debit_owner = 'outside') = (debit_owner_id IS NULL)),
credit_owner TEXT NOT NULL CHECK ((credit_owner = 'budget' OR credit_owner = 'wallet' OR credit_owner = 'receivable' OR credit_owner = 'outside')),
credit_owner_id ANY CHECK ((credit_owner = 'outside') = (credit_owner_id IS NULL)),
unit TEXT NOT NULL
CHECK ((unit = 'money' OR unit = 'points' OR unit = 'coupon' OR unit = 'gift' OR unit = 'virtualGood' OR unit = 'cardDraw' OR unit = 'lotteryDraw')),
unit_currency TEXT CHECK ((unit = 'money') = (unit_currency IS NOT NULL)),
unit_minor_digits INTEGER CHECK ((unit = 'money') = (unit_minor_digits IS NOT NULL)),
unit_sku ANY CHECK (((unit = 'coupon' OR unit = 'gift' OR unit = 'virtualGood')) = (unit_sku IS NOT NULL)),
amount INTEGER NOT NULL CHECK (amount > 0),
command ANY NOT NULL CHECK (typeof(command) IN ('integer', 'text')),
rule ANY CHECK ((typeof(rule) = 'integer' OR typeof(rule) = 'text' OR typeof(rule) = 'null')),
rule_version INTEGER NOT NULL,
at INTEGER NOT NULL,
hold_until INTEGER,
CHECK ((key_operation IS NULL) = (key_campaign IS NULL)),
CHECK ((key_operation IS NULL) = (key_source IS NULL)),
CHECK ((key_operation IS NULL) = (key_part IS NULL)),
CHECK (key_operation IS NOT NULL OR (key_rule IS NULL AND key_beneficiary IS NULL))
) STRICT;
CREATE INDEX transfers_by_entry ON transfers (entry);
CREATE INDEX transfers_by_resolves ON transfers (resolves) WHERE resolves IS NOT NULL;
CREATE UNIQUE INDEX transfers_key_unique ON transfers (
key_source, key_part, key_operation, key_campaign, ifnull(key_rule, x''), ifnull(key_beneficiary, x'')
) WHERE key_operation IS NOT NULL;
CREATE UNIQUE INDEX transfers_one_posting ON transfers (resolves) WHERE kind = 'postPending';
CREATE TABLE snapshots (
sequence INTEGER PRIMARY KEY CHECK (sequence >= 0),
state BLOB NOT NULL
) STRICT;
CREATE TRIGGER journal_contiguous BEFORE INSERT ON journal
WHEN NEW.sequence IS NOT (SELECT ifnull(max(sequence), 0) + 1 FROM journal)
BEGIN SELECT RAISE(ABORT, 'journal sequences run on from the last entry without gaps'); END;
CREATE TRIGGER transfers_contiguous BEFORE INSERT ON transfers
WHEN NEW.id IS NOT (SELECT ifnull(max(id), 0) + 1 FROM transfers)
BEGIN SELECT RAISE(ABORT, 'transfer ids run on from the last transfer without gaps'); END;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal entries are never changed'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal entries are never removed'); END;
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are never changed'); END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are never removed'); END;
