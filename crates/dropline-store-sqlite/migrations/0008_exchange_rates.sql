-- The operator's exchange-rate table: from `effective_on` (YYYY-MM-DD), one unit of
-- `from_currency` is `per_million / 1000000` units of `to_currency`. Rows are never changed;
-- for a pair and a day the newest effective date not after it wins, then the one set last.
-- `set_at` is UTC unix microseconds.
CREATE TABLE exchange_rates (
    from_currency TEXT NOT NULL,
    to_currency TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    set_at INTEGER NOT NULL,
    per_million INTEGER NOT NULL,
    set_by TEXT NOT NULL,
    CONSTRAINT exchange_rates_pkey PRIMARY KEY (from_currency, to_currency, effective_on, set_at),
    CONSTRAINT exchange_rates_pair_check CHECK (from_currency <> to_currency),
    CONSTRAINT exchange_rates_per_million_check CHECK (per_million > 0)
) WITHOUT ROWID;
