-- SPDX-License-Identifier: Apache-2.0
-- 0003_runner: final-training metrics kept apart from the proxy ones (the
-- proxy metrics decide the rounds' fronts and must never change once a round
-- is finished), and one model per candidate (a resumed job must not store a
-- second one).
ALTER TABLE candidates
    ADD COLUMN final_val_top1 double precision,
    ADD COLUMN final_val_top5 double precision,
    ADD COLUMN final_val_loss double precision;

-- models stored twice by the runner before this migration: keep the first
DELETE FROM models a USING models b
    WHERE a.candidate_id = b.candidate_id AND a.id > b.id;
CREATE UNIQUE INDEX models_candidate ON models (candidate_id);
