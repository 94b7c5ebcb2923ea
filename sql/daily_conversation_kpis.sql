-- daily_conversation_kpis: one row per UTC day x site x department.
-- Volume, success rate, average duration and the activity inside the conversations
-- (complaints: complaints received in them).
-- created_at is TIMESTAMPTZ; make_timestamp(epoch_us(...)) is its UTC wall clock in every
-- client. (A CAST to TIMESTAMP would give the session's TimeZone wherever ICU is loaded:
-- Python, JDBC, ODBC and the BI tools built on them.)
SELECT
    account,
    CAST(make_timestamp(epoch_us(created_at)) AS DATE)                 AS day_utc,
    site_id,
    department_id,
    count(*)                                                            AS conversations,
    count(*) FILTER (WHERE result = 'success')                          AS successful,
    round(count(*) FILTER (WHERE result = 'success') / count(*), 4)     AS success_rate,
    round(avg(duration_s), 1)                                           AS avg_duration_s,
    CAST(sum(chat_count) AS BIGINT)  AS chats,
    CAST(sum(call_count) AS BIGINT)  AS calls,
    CAST(sum(lead_count) AS BIGINT)  AS leads,
    CAST(sum(message_count) AS BIGINT)  AS messages,
    CAST(sum(complaint_count) AS BIGINT)  AS complaints
FROM conversations
GROUP BY ALL
ORDER BY account, day_utc, site_id, department_id NULLS FIRST
