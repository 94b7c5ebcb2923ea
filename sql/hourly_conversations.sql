-- hourly_conversations: one row per UTC hour x site x department, with the Moscow weekday and
-- hour of that hour (from created_at_msk: Moscow's offset is a whole number of hours, so each
-- UTC hour is one Moscow hour). hourly_load_heatmap for any period and filter.
SELECT
    account,
    CAST(date_trunc('hour', make_timestamp(epoch_us(created_at))) AS DATE)     AS day_utc,
    date_trunc('hour', make_timestamp(epoch_us(created_at)))                   AS hour_utc,
    site_id,
    department_id,
    isodow(created_at_msk)                                              AS weekday_msk,
    hour(created_at_msk)                                                AS hour_msk,
    count(*)                                                            AS conversations,
    CAST(sum(chat_count) AS BIGINT)  AS chats,
    CAST(sum(call_count) AS BIGINT)  AS calls,
    CAST(sum(lead_count) AS BIGINT)  AS leads,
    CAST(sum(message_count) AS BIGINT)  AS messages
FROM conversations
GROUP BY ALL
ORDER BY account, hour_utc, site_id, department_id NULLS FIRST
