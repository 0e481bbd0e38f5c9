-- SPDX-License-Identifier: Apache-2.0
-- 0001_init: the migration bookkeeping table is created by the runner itself;
-- this first migration records service-level metadata.
CREATE TABLE service_info (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO service_info (key, value) VALUES ('created_by', 'lmnas 0.1.0');
