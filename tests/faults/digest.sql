-- The canonical line of every stored result, in the format of tf-digest:
-- the fault-injection suite compares the two sets.
SELECT concat_ws('|', r.unit_code, r.committee, r.round, r.revision,
                 coalesce(to_char(r.held_on, 'YYYY-MM-DD'), ''),
                 r.registered, r.excused, r.took_part, r.proxy_votes, r.ballots_issued,
                 r.ballots_returned, r.ballots_valid, r.ballots_invalid, r.ballot_mode,
                 r.seats_head, r.seats_deputy, r.seats_member,
                 coalesce(encode(r.sheet_photo_sha256, 'hex'), ''),
                 CASE WHEN r.announced_on_site THEN 't' ELSE 'f' END,
                 (SELECT string_agg(concat_ws(':', c.candidate_id, c.name, c.position,
                                              c.votes_for, c.votes_against, c.votes_abstain,
                                              CASE WHEN c.elected THEN 't' ELSE 'f' END,
                                              coalesce(c.position_won, ''),
                                              coalesce(c.gender, ''), coalesce(c.ethnicity, ''),
                                              coalesce(c.birth_year::text, ''),
                                              coalesce(c.education, ''),
                                              CASE WHEN c.party_member THEN 't' ELSE 'f' END,
                                              CASE WHEN c.reelected THEN 't' ELSE 'f' END,
                                              CASE WHEN c.concurrent_head THEN 't' ELSE 'f' END,
                                              CASE WHEN c.cross_serving THEN 't' ELSE 'f' END),
                                    ';' ORDER BY c.ordinal)
                  FROM tallyfeed.candidate c WHERE c.message_id = r.message_id))
FROM tallyfeed.result r;
