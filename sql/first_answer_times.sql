-- first_answer_times: one row per UTC day x site x department x first_answer_time_s (whole
-- seconds) of chats, with how many chats waited that long for their first answer: the
-- distribution behind a median or percentile over any period and filter (medians do not add
-- up across days). Chats without a first answer are not counted.
SELECT
    account,
    CAST(make_timestamp(epoch_us(created_at)) AS DATE)     AS day_utc,
    site_id,
    department_id,
    first_answer_time_s,
    count(*)                                        AS chats
FROM chats
WHERE first_answer_time_s IS NOT NULL
GROUP BY ALL
ORDER BY account, day_utc, site_id NULLS FIRST, department_id NULLS FIRST, first_answer_time_s
