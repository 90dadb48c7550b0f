-- Up Migration

-- An approval policy's own gates: [{name, expression, message}], CEL conditions the gate evaluator runs
-- after the built-in gates. Policies from before carry none.
ALTER TABLE approval_policies ADD COLUMN cel_gates jsonb NOT NULL DEFAULT '[]';

-- Down Migration
ALTER TABLE approval_policies DROP COLUMN cel_gates;
