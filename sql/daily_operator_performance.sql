-- daily_operator_performance: one row per UTC day x site x department x employee, over the
-- chats, calls and complaints assigned to the employee (each counted on its own created_at,
-- site_id and department_id). Sums and counts only, so that any period adds up: the mean
-- first answer time of a period is sum(first_answer_time_s_sum) / sum(answered_chats).
-- Names come from the employees dimension (latest snapshot).
WITH assigned AS (
    SELECT
        account,
        CAST(make_timestamp(epoch_us(created_at)) AS DATE)                 AS day_utc,
        site_id,
        department_id,
        employee_id,
        1                                                           AS chats,
        CASE WHEN result = 'missed' THEN 1 ELSE 0 END               AS missed_chats,
        0                                                           AS calls,
        first_answer_time_s,
        CASE WHEN visitor_vote = 'positive' THEN 1 ELSE 0 END       AS positive_votes,
        CASE WHEN visitor_vote = 'negative' THEN 1 ELSE 0 END       AS negative_votes,
        0                                                           AS complaints
    FROM chats
    WHERE employee_id IS NOT NULL
    UNION ALL
    SELECT account, CAST(make_timestamp(epoch_us(created_at)) AS DATE), site_id, department_id, employee_id,
           0, 0, 1, NULL, 0, 0, 0
    FROM calls
    WHERE employee_id IS NOT NULL
    UNION ALL
    SELECT account, CAST(make_timestamp(epoch_us(created_at)) AS DATE), site_id, department_id, employee_id,
           0, 0, 0, NULL, 0, 0, 1
    FROM complaints
    WHERE employee_id IS NOT NULL
),
per_day AS (
    SELECT
        account,
        day_utc,
        site_id,
        department_id,
        employee_id,
        CAST(sum(chats) AS BIGINT)                  AS chats,
        CAST(sum(missed_chats) AS BIGINT)           AS missed_chats,
        CAST(sum(calls) AS BIGINT)                  AS calls,
        count(first_answer_time_s)                  AS answered_chats,
        CAST(sum(first_answer_time_s) AS BIGINT)    AS first_answer_time_s_sum,
        CAST(sum(positive_votes) AS BIGINT)         AS positive_votes,
        CAST(sum(negative_votes) AS BIGINT)         AS negative_votes,
        CAST(sum(complaints) AS BIGINT)             AS complaints
    FROM assigned
    GROUP BY ALL
)
SELECT
    d.account,
    d.day_utc,
    d.site_id,
    d.department_id,
    d.employee_id,
    e.first_name,
    e.last_name,
    d.chats,
    d.missed_chats,
    d.calls,
    d.answered_chats,
    d.first_answer_time_s_sum,
    d.positive_votes,
    d.negative_votes,
    d.complaints
FROM per_day d
LEFT JOIN employees e ON e.account = d.account AND e.employee_id = d.employee_id
ORDER BY d.account, d.day_utc, d.site_id NULLS FIRST, d.department_id NULLS FIRST, d.employee_id
