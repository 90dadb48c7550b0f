-- Up Migration

-- Request counters shared by every API replica, so a limit holds however many replicas serve a user
-- (store/rate-limit-counters.ts). One row per key and fixed window; a request is one upsert that returns the
-- window's count. Unlogged: the counters are worth nothing after a crash (Postgres empties the table
-- then, which only gives everyone a fresh window) and skipping the WAL keeps the upsert cheap.
-- The fill factor leaves room on each page so the counter's update stays a HOT update (no index write).
CREATE UNLOGGED TABLE rate_limit_counters (
  key          text    NOT NULL,
  -- Epoch milliseconds on the database's clock, a multiple of the window length: replicas agree on it.
  window_start bigint  NOT NULL,
  window_end   bigint  NOT NULL,
  count        integer NOT NULL,
  PRIMARY KEY (key, window_start)
) WITH (fillfactor = 50);

-- Down Migration
DROP TABLE rate_limit_counters;
