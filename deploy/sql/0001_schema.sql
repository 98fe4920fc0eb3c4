-- 0001: registry, stored results, quarantine, and the totals.
--
-- Applied by `tallyfeed db migrate` inside one transaction and recorded in
-- tallyfeed.schema_migration.  Never edit a migration that has shipped: add
-- the next number.

CREATE SCHEMA IF NOT EXISTS tallyfeed;
SET LOCAL search_path = tallyfeed, pg_catalog;

-- Province-level divisions (GB/T 2260), so any province's registry loads.
CREATE TABLE province (
    code    char(2) PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    name    text NOT NULL
);
INSERT INTO province (code, name) VALUES
    ('11', '北京市'), ('12', '天津市'), ('13', '河北省'), ('14', '山西省'),
    ('15', '内蒙古自治区'), ('21', '辽宁省'), ('22', '吉林省'), ('23', '黑龙江省'),
    ('31', '上海市'), ('32', '江苏省'), ('33', '浙江省'), ('34', '安徽省'),
    ('35', '福建省'), ('36', '江西省'), ('37', '山东省'), ('41', '河南省'),
    ('42', '湖北省'), ('43', '湖南省'), ('44', '广东省'), ('45', '广西壮族自治区'),
    ('46', '海南省'), ('50', '重庆市'), ('51', '四川省'), ('52', '贵州省'),
    ('53', '云南省'), ('54', '西藏自治区'), ('61', '陕西省'), ('62', '甘肃省'),
    ('63', '青海省'), ('64', '宁夏回族自治区'), ('65', '新疆维吾尔自治区');

CREATE TABLE prefecture (
    code            char(12) PRIMARY KEY CHECK (code ~ '^[0-9]{4}0{8}$'),
    name            text NOT NULL,
    province_code   char(2) NOT NULL REFERENCES province,
    CHECK (left(code, 2) = province_code)
);

CREATE TABLE county (
    code            char(12) PRIMARY KEY CHECK (code ~ '^[0-9]{6}0{6}$'),
    name            text NOT NULL,
    prefecture_code char(12) NOT NULL REFERENCES prefecture,
    CHECK (left(code, 4) = left(prefecture_code, 4))
);

CREATE TABLE township (
    code            char(12) PRIMARY KEY CHECK (code ~ '^[0-9]{9}000$'),
    name            text NOT NULL,
    county_code     char(12) NOT NULL REFERENCES county,
    CHECK (left(code, 6) = left(county_code, 6))
);

-- A village or community.  kind comes from the last three digits (NBS rule);
-- mass_committee is the one committee besides the Party branch it elects.
CREATE TABLE unit (
    code            char(12) PRIMARY KEY CHECK (code ~ '^[0-9]{12}$'),
    name            text NOT NULL,
    township_code   char(12) NOT NULL REFERENCES township,
    urban_rural     char(3) CHECK (urban_rural ~ '^[0-9]{3}$'),
    kind            text NOT NULL CHECK (kind IN ('residents', 'villagers',
                                                  'community_like', 'village_like')),
    mass_committee  text NOT NULL GENERATED ALWAYS AS
                    (CASE WHEN kind IN ('residents', 'community_like')
                          THEN 'residents' ELSE 'villagers' END) STORED,
    CHECK (left(code, 9) = left(township_code, 9))
);
CREATE INDEX unit_township_idx ON unit (township_code);

-- Every envelope accepted, byte for byte: what every stored number traces to.
-- id gives the order of storage; message_id is the idempotence key, checked
-- in the same transaction that stores the data.
CREATE TABLE message (
    id              bigserial PRIMARY KEY,
    message_id      bytea NOT NULL UNIQUE CHECK (length(message_id) = 16),
    agent_id        text NOT NULL,
    sequence        bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    payload_type    smallint NOT NULL,
    envelope        bytea NOT NULL,
    envelope_sha256 bytea NOT NULL CHECK (length(envelope_sha256) = 32),
    signature       bytea NOT NULL
);

-- One row per (unit, committee, round, revision); every revision is kept,
-- and the highest revision counts (result_current).
CREATE TABLE result (
    message_id      bytea PRIMARY KEY REFERENCES message (message_id),
    unit_code       char(12) NOT NULL REFERENCES unit,
    committee       text NOT NULL CHECK (committee IN ('villagers', 'residents', 'party_branch')),
    round           smallint NOT NULL CHECK (round >= 1),
    revision        integer NOT NULL CHECK (revision >= 1),
    held_on         date,
    registered      integer NOT NULL CHECK (registered > 0),
    excused         integer NOT NULL CHECK (excused >= 0),
    took_part       integer NOT NULL CHECK (took_part >= 0),
    proxy_votes     integer NOT NULL CHECK (proxy_votes >= 0),
    ballots_issued  integer NOT NULL,
    ballots_returned integer NOT NULL,
    ballots_valid   integer NOT NULL,
    ballots_invalid integer NOT NULL,
    ballot_mode     text NOT NULL CHECK (ballot_mode IN ('combined', 'per_position')),
    seats_head      smallint NOT NULL DEFAULT 0,
    seats_deputy    smallint NOT NULL DEFAULT 0,
    seats_member    smallint NOT NULL DEFAULT 0,
    seats_filled    smallint NOT NULL,
    election_valid  boolean NOT NULL,
    warnings        text[] NOT NULL DEFAULT '{}',
    sheet_photo_sha256 bytea,
    announced_on_site boolean NOT NULL DEFAULT false,
    UNIQUE (unit_code, committee, round, revision),
    CHECK (ballots_valid + ballots_invalid = ballots_returned),
    CHECK (ballots_returned <= ballots_issued),
    CHECK (took_part <= registered - excused)
);

CREATE TABLE candidate (
    message_id      bytea NOT NULL REFERENCES result (message_id),
    ordinal         smallint NOT NULL,
    candidate_id    text NOT NULL,
    name            text NOT NULL,
    position        text NOT NULL CHECK (position IN ('head', 'deputy', 'member')),
    votes_for       integer NOT NULL,
    votes_against   integer NOT NULL,
    votes_abstain   integer NOT NULL,
    elected         boolean NOT NULL,
    position_won    text CHECK (position_won IN ('head', 'deputy', 'member')),
    gender          text CHECK (gender IN ('male', 'female')),
    ethnicity       text,
    birth_year      smallint,
    education       text,
    party_member    boolean NOT NULL,
    reelected       boolean NOT NULL,
    concurrent_head boolean NOT NULL,
    cross_serving   boolean NOT NULL,
    PRIMARY KEY (message_id, ordinal),
    UNIQUE (message_id, candidate_id)
);

-- Every message refused, with its raw bytes and why.  message_id is NULL when
-- the frame could not be read that far; a refused message sent again is kept once.
CREATE TABLE quarantine (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    message_id      bytea UNIQUE,
    agent_id        text,
    sequence        bigint,
    reason          smallint NOT NULL,
    reason_name     text NOT NULL,
    detail          text NOT NULL,
    raw             bytea NOT NULL,
    raw_sha256      bytea NOT NULL
);

-- Agent state from heartbeats.
CREATE TABLE agent_status (
    agent_id        text PRIMARY KEY,
    last_seen       timestamptz NOT NULL,
    spool_depth     integer NOT NULL,
    oldest_pending_age_s integer NOT NULL,
    last_acked_sequence bigint NOT NULL,
    software_version text NOT NULL,
    uptime_s        bigint NOT NULL
);

-- Which of a batch's messages are stored already (by message id, given as
-- hex), and which of its results' keys another message holds: the
-- collector asks this before it COPYs the batch, in the same transaction.
CREATE FUNCTION batch_conflicts(p_ids text[], p_units text[], p_committees text[],
                                p_rounds integer[], p_revisions integer[])
RETURNS TABLE (kind text, item integer)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    SELECT 'duplicate', k.i::integer
    FROM unnest(p_ids) WITH ORDINALITY AS k(id, i)
    JOIN message m ON m.message_id = decode(k.id, 'hex')
    UNION ALL
    SELECT 'revision_exists', k.i::integer
    FROM unnest(p_units, p_committees, p_rounds, p_revisions) WITH ORDINALITY
         AS k(unit, committee, round, revision, i)
    JOIN result r ON r.unit_code = k.unit AND r.committee = k.committee
                 AND r.round = k.round AND r.revision = k.revision
$$;

-- Where each unit sits, at every level.
CREATE VIEW unit_place AS
SELECT u.code AS unit_code, u.name AS unit_name, u.kind, u.mass_committee,
       t.code AS township_code, c.code AS county_code, p.code AS prefecture_code,
       p.province_code || '0000000000' AS province_code
FROM unit u
JOIN township t ON t.code = u.township_code
JOIN county c ON c.code = t.county_code
JOIN prefecture p ON p.code = c.prefecture_code;

-- Every area of every level, by its 12-digit code.
CREATE VIEW area AS
SELECT code || '0000000000' AS code, name, 'province' AS level FROM province
UNION ALL SELECT code, name, 'prefecture' FROM prefecture
UNION ALL SELECT code, name, 'county' FROM county
UNION ALL SELECT code, name, 'township' FROM township;

-- Only the highest revision of each (unit, committee, round) counts.
CREATE VIEW result_current AS
SELECT DISTINCT ON (unit_code, committee, round) *
FROM result
ORDER BY unit_code, committee, round, revision DESC;

-- Per unit and committee, the first round's outcome, and whether a runoff
-- is still owed (seats unfilled in a valid election, no round 2 stored yet).
CREATE VIEW committee_outcome AS
SELECT r1.unit_code, r1.committee, r1.registered, r1.excused, r1.took_part,
       r1.election_valid,
       r1.seats_head + r1.seats_deputy + r1.seats_member AS seats_total,
       r1.seats_filled,
       (r1.election_valid
        AND r1.seats_filled < r1.seats_head + r1.seats_deputy + r1.seats_member
        AND NOT EXISTS (SELECT 1 FROM result r2
                        WHERE r2.unit_code = r1.unit_code AND r2.committee = r1.committee
                          AND r2.round = 2)) AS runoff_needed
FROM result_current r1
WHERE r1.round = 1;

-- The province's figures per area of one level, optionally only under one
-- area, computed from the stored unit rows at the moment of asking.
CREATE FUNCTION totals(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text,
               units_expected bigint,
               villagers_expected bigint, villagers_reported bigint,
               residents_expected bigint, residents_reported bigint,
               party_expected bigint, party_reported bigint,
               electorate bigint, voters bigint, turnout numeric,
               party_members bigint, party_present bigint,
               valid_elections bigint, invalid_elections bigint, runoffs_needed bigint)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    WITH placed AS (
        SELECT CASE p_level
                   WHEN 'province' THEN up.province_code
                   WHEN 'prefecture' THEN up.prefecture_code
                   WHEN 'county' THEN up.county_code
                   WHEN 'township' THEN up.township_code
               END::text AS area_code,
               up.unit_code, up.mass_committee
        FROM unit_place up
        WHERE p_under IS NULL
           OR p_under IN (up.province_code, up.prefecture_code, up.county_code,
                          up.township_code, up.unit_code)
    )
    SELECT pl.area_code, a.name,
           count(*),
           count(*) FILTER (WHERE pl.mass_committee = 'villagers'),
           count(m.unit_code) FILTER (WHERE pl.mass_committee = 'villagers'),
           count(*) FILTER (WHERE pl.mass_committee = 'residents'),
           count(m.unit_code) FILTER (WHERE pl.mass_committee = 'residents'),
           count(*),
           count(pb.unit_code),
           coalesce(sum(m.registered), 0),
           coalesce(sum(m.took_part), 0),
           round(100.0 * sum(m.took_part) / nullif(sum(m.registered), 0), 2),
           coalesce(sum(pb.registered - pb.excused), 0),
           coalesce(sum(pb.took_part), 0),
           count(*) FILTER (WHERE m.election_valid) + count(*) FILTER (WHERE pb.election_valid),
           count(*) FILTER (WHERE NOT m.election_valid) + count(*) FILTER (WHERE NOT pb.election_valid),
           count(*) FILTER (WHERE m.runoff_needed) + count(*) FILTER (WHERE pb.runoff_needed)
    FROM placed pl
    JOIN area a ON a.code = pl.area_code AND a.level = p_level
    LEFT JOIN committee_outcome m
           ON m.unit_code = pl.unit_code AND m.committee = pl.mass_committee
    LEFT JOIN committee_outcome pb
           ON pb.unit_code = pl.unit_code AND pb.committee = 'party_branch'
    GROUP BY pl.area_code, a.name
    ORDER BY pl.area_code
$$;
