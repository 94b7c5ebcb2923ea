//! Per-table semantics: every builder's columns match its table's schema, and the example
//! conversation fills each table with the values it holds.

use super::*;

#[test]
fn builders_match_schemas() {
    use crate::{calls::*, chat_messages::*, chats::*, complaints::*, conversation_employees::*};
    use crate::{
        conversation_events::*, conversations::*, dimensions::*, leads::*, quality::*, rejected::*,
    };
    let pairs: [(Table, &[&str]); 14] = [
        (Table::Conversations, ConversationsBuilder::COLUMNS),
        (Table::Chats, ChatsBuilder::COLUMNS),
        (Table::ChatMessages, ChatMessagesBuilder::COLUMNS),
        (Table::Calls, CallsBuilder::COLUMNS),
        (Table::Leads, LeadsBuilder::COLUMNS),
        (Table::Complaints, ComplaintsBuilder::COLUMNS),
        (
            Table::ConversationEmployees,
            ConversationEmployeesBuilder::COLUMNS,
        ),
        (
            Table::ConversationEvents,
            ConversationEventsBuilder::COLUMNS,
        ),
        (Table::Employees, EmployeesBuilder::COLUMNS),
        (Table::Visitors, VisitorsBuilder::COLUMNS),
        (Table::Sites, SitesBuilder::COLUMNS),
        (Table::Departments, DepartmentsBuilder::COLUMNS),
        (Table::QualityIssues, QualityIssuesBuilder::COLUMNS),
        (Table::Rejected, RejectedBuilder::COLUMNS),
    ];
    for (t, cols) in pairs {
        let schema = t.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        // `account` is added to every batch by the transformer, not by the builders.
        assert_eq!(names[0], "account", "{}", t.name());
        assert_eq!(&names[1..], cols, "{}", t.name());
    }
}

#[test]
fn example_conversation_fills_every_table() {
    let (batches, stats) = run(config(), &[EXAMPLE.to_owned()]);
    let expected = [
        (Table::Conversations, 1),
        (Table::Chats, 1),
        (Table::ChatMessages, 3),
        (Table::Calls, 1),
        (Table::Leads, 1),
        (Table::Complaints, 0),
        (Table::ConversationEmployees, 1),
        (Table::ConversationEvents, 4),
        (Table::Employees, 1),
        (Table::Visitors, 1),
        (Table::Sites, 1),
        (Table::Departments, 1),
        (Table::QualityIssues, 0),
        (Table::Rejected, 0),
    ];
    for (t, n) in expected {
        assert_eq!(table(&batches, t).num_rows(), n, "{}", t.name());
        assert_eq!(stats.rows_of(t), n as u64, "{}", t.name());
    }
    assert!(batches.iter().all(|b| b.partition == "default/2026-03"));
    assert_eq!(stats.conversations, 1);

    let conv = table(&batches, Table::Conversations);
    assert_eq!(ints(&conv, "conversation_id"), [Some(48211093)]);
    assert_eq!(
        tss(&conv, "created_at"),
        [Some(utc("2026-03-14T15:02:11Z").timestamp_micros())]
    );
    // Naive Moscow wall clock, as written by the API.
    assert_eq!(
        tss(&conv, "created_at_msk"),
        [Some(utc("2026-03-14T18:02:11Z").timestamp_micros())]
    );
    assert_eq!(
        strs(&conv, "visitor_id"),
        [Some("f3c2a9e0-4b1d-4c55-9b0e-0d5d2f6b7a11".to_owned())]
    );
    assert_eq!(ints(&conv, "site_id"), [Some(7781)]);
    assert_eq!(ints(&conv, "department_id"), [Some(302)]);
    assert_eq!(ints(&conv, "complaint_count"), [Some(0)]);
    assert_eq!(strs(&conv, "_extra"), [Some("{}".to_owned())]);
    assert_eq!(strs(&conv, "_run_id"), [Some("run-1".to_owned())]);
    let vv: Value =
        serde_json::from_str(strs(&conv, "visitor_variables")[0].as_deref().unwrap()).unwrap();
    assert_eq!(vv["client_id"], "A-99812");
    assert_eq!(
        tss(&conv, "_source_updated_at"),
        [Some(utc("2026-03-14T15:31:40Z").timestamp_micros())]
    );

    let msgs = table(&batches, Table::ChatMessages);
    assert_eq!(
        strs(&msgs, "sender_type")
            .iter()
            .map(|s| s.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["visitor", "employee", "visitor"]
    );
    assert_eq!(ints(&msgs, "message_order"), [Some(0), Some(1), Some(2)]);
    assert_eq!(ints(&msgs, "employee_id"), [None, Some(90117), None]);
    assert_eq!(ints(&msgs, "chat_id"), [Some(771200345); 3]);
    assert_eq!(
        ints(&msgs, "text_length")[2],
        Some("Отлично 👍 \"Орион\", серый".chars().count() as i64)
    );

    let chats = table(&batches, Table::Chats);
    assert_eq!(ints(&chats, "first_message_id"), [Some(5501)]);
    assert_eq!(ints(&chats, "employee_id"), [Some(90117)]);
    assert_eq!(bools(&chats, "is_closed"), [Some(true)]);
    let events: Value =
        serde_json::from_str(strs(&chats, "events")[0].as_deref().unwrap()).unwrap();
    assert_eq!(events[0]["event_type"], "visitor-chat-open");

    let calls = table(&batches, Table::Calls);
    assert_eq!(ints(&calls, "lead_id"), [Some(3300712)]);
    assert_eq!(
        strs(&calls, "recording_url"),
        [Some("https://records.example.ru/66120091.mp3".to_owned())]
    );
    let leads = table(&batches, Table::Leads);
    assert_eq!(ints(&leads, "assigned_to_id"), [Some(90117)]);
    assert_eq!(ints(&leads, "created_by_id"), [None]);
    let ev = table(&batches, Table::ConversationEvents);
    assert_eq!(
        strs(&ev, "event_type")[0].as_deref(),
        Some("vistor-navigate")
    );
    let emp = table(&batches, Table::Employees);
    assert_eq!(strs(&emp, "role_code"), [Some("operator".to_owned())]);
    assert_eq!(ints(&emp, "_seen_in_conversation_id"), [Some(48211093)]);
}
