-- hourly_load_heatmap: one row per clock x ISO weekday x hour, where clock is 'MSK'
-- (Moscow wall clock, from created_at_msk) or 'UTC' (from created_at). Filter on one clock.
-- created_at_msk is written by the transform with the tz database, so no ICU / AT TIME ZONE here;
-- the UTC clock is make_timestamp(epoch_us(created_at)), not a CAST (session TimeZone under ICU).
WITH c AS (
    SELECT account, 'MSK' AS clock, created_at_msk AS ts, chat_count, call_count, lead_count, message_count
    FROM conversations
    UNION ALL
    SELECT account, 'UTC' AS clock, make_timestamp(epoch_us(created_at)) AS ts, chat_count, call_count, lead_count, message_count
    FROM conversations
)
SELECT
    account,
    clock,
    isodow(ts)              AS weekday,
    dayname(ts)             AS weekday_name,
    hour(ts)                AS hour,
    count(*)                AS conversations,
    CAST(sum(chat_count) AS BIGINT)  AS chats,
    CAST(sum(call_count) AS BIGINT)  AS calls,
    CAST(sum(lead_count) AS BIGINT)  AS leads,
    CAST(sum(message_count) AS BIGINT)  AS messages
FROM c
GROUP BY ALL
ORDER BY account, clock, weekday, hour
