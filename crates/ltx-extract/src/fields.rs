//! The conversation fields the extractor asks for (`fields=`), in one place.
//!
//! The API may return nested arrays only when asked for (livetex-api.md, (I)), so every
//! conversation list and single-conversation request names every field the warehouse
//! stores. Child lists (discover mode) are not restricted: the extractor reads only
//! their `conversation.id` and `updated_at`.

/// Every top-level conversation field the warehouse stores (the default of
/// `ExtractConfig::fields`).
pub const CONVERSATION_FIELDS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "visitor",
    "site",
    "department",
    "result",
    "duration",
    "page_count",
    "visit_count",
    "chat_count",
    "call_count",
    "lead_count",
    "message_count",
    "city",
    "country",
    "search_engine",
    "search_query",
    "ext_referer",
    "int_referer",
    "entry_page",
    "widget_type",
    "widget_id",
    "visitor_variables",
    "prechat_fields",
    "chats",
    "calls",
    "leads",
    "complaints",
    "employees",
    "events",
];

/// Fields the extractor itself cannot work without (dedupe key and sync window).
pub const REQUIRED_FIELDS: &[&str] = &["id", "updated_at"];

/// The value of the `fields` parameter: the configured list or [`CONVERSATION_FIELDS`].
pub fn fields_param(configured: Option<&[String]>) -> String {
    match configured {
        Some(list) => list.iter().map(|f| f.trim()).collect::<Vec<_>>().join(","),
        None => CONVERSATION_FIELDS.join(","),
    }
}

/// Why a configured field list is unusable, if it is.
pub(crate) fn check(list: &[String]) -> Result<(), String> {
    if let Some(bad) = list
        .iter()
        .find(|f| f.trim().is_empty() || f.contains(',') || f.contains(char::is_whitespace))
    {
        return Err(format!(
            "{bad:?} is not a field name (one name per entry, no commas or spaces)"
        ));
    }
    if let Some(missing) = REQUIRED_FIELDS
        .iter()
        .find(|r| !list.iter().any(|f| f.trim() == **r))
    {
        return Err(format!(
            "must include {missing:?} (the extractor keys and windows conversations on id and updated_at)"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_asks_for_every_stored_field() {
        let p = fields_param(None);
        assert_eq!(p.split(',').count(), 31);
        assert!(p.starts_with("id,created_at,updated_at,visitor,"));
        assert!(p.ends_with(",chats,calls,leads,complaints,employees,events"));
    }

    #[test]
    fn configured_lists_are_checked_and_sent() {
        let list: Vec<String> = vec!["id".into(), "updated_at".into(), "chats".into()];
        check(&list).unwrap();
        assert_eq!(fields_param(Some(&list)), "id,updated_at,chats");
        let e = check(&["id".into(), "chats".into()]).unwrap_err();
        assert!(e.contains("updated_at"), "{e}");
        assert!(check(&["id".into(), "updated_at".into(), "a,b".into()]).is_err());
    }
}
