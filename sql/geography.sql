-- geography: one row per country x city as geolocated by LiveTex for the conversation
-- ('(unknown)' when the API sent none).
SELECT
    account,
    coalesce(country, '(unknown)')                                      AS country,
    coalesce(city, '(unknown)')                                         AS city,
    count(*)                                                            AS conversations,
    count(DISTINCT visitor_id)                                          AS visitors,
    round(count(*) FILTER (WHERE result = 'success') / count(*), 4)     AS success_rate,
    round(avg(duration_s), 1)                                           AS avg_duration_s,
    CAST(sum(chat_count) AS BIGINT)  AS chats,
    CAST(sum(call_count) AS BIGINT)  AS calls,
    CAST(sum(lead_count) AS BIGINT)  AS leads
FROM conversations
GROUP BY ALL
ORDER BY account, conversations DESC, country, city
