-- Android Network Security Config overridePins (issue 13/14): the trust
-- anchors of a pin policy for which Android skips the pin check when a chain
-- ends at them. One entry per line: "system", "user", "sha256/<base64>" (the
-- anchor certificate's SPKI pin) or "@raw/<name>" (an anchor file that could
-- not be read). NULL: none (every source but "nsc").
ALTER TABLE pin_policies ADD COLUMN override_anchors TEXT
	CHECK (override_anchors IS NULL OR length(override_anchors) BETWEEN 1 AND 4096);
