//! The account's shared entities: sites, departments, employees and returning visitors,
//! drawn once from the seed (visitors on demand, from their number).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng::{rng_for, DAY, S_POOLS, S_VISITOR};
use crate::vocab::*;

#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(super) id: i64,
    pub(super) url: &'static str,
    pub(super) created: i64,
    pub(super) updated: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Department {
    pub(super) id: i64,
    pub(super) title: &'static str,
    pub(super) created: i64,
    pub(super) updated: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Employee {
    pub(super) id: i64,
    pub(super) first: &'static str,
    pub(super) last: &'static str,
    pub(super) email: String,
    pub(super) phone: Option<String>,
    pub(super) role: (&'static str, &'static str),
    pub(super) state: &'static str,
    pub(super) chat_limit: i64,
    pub(super) departments: Vec<usize>,
    pub(super) created: i64,
    pub(super) updated: i64,
}

#[derive(Debug)]
pub(crate) struct Pools {
    pub(super) seed: u64,
    pub(super) sites: Vec<Site>,
    pub(super) departments: Vec<Department>,
    pub(super) employees: Vec<Employee>,
    pub(super) visitors: u64,
}

const ACCOUNT_EPOCH: i64 = 1_554_076_800; // 2019-04-01, when the account was opened

impl Pools {
    pub(super) fn new(seed: u64, n: u64) -> Self {
        let mut rng = rng_for(seed, 0, S_POOLS);
        let nsites = rng.gen_range(3..=4);
        let sites = SITES[..nsites]
            .iter()
            .enumerate()
            .map(|(i, (url, _))| Site {
                id: 7781 + 13 * i as i64,
                url,
                created: ACCOUNT_EPOCH + rng.gen_range(0..200) * DAY,
                updated: ACCOUNT_EPOCH + rng.gen_range(400..2_000) * DAY,
            })
            .collect();
        let ndep = rng.gen_range(5..=8);
        let departments = DEPARTMENTS[..ndep]
            .iter()
            .enumerate()
            .map(|(i, title)| Department {
                id: 302 + i as i64,
                title,
                created: ACCOUNT_EPOCH + rng.gen_range(0..300) * DAY,
                updated: ACCOUNT_EPOCH + rng.gen_range(500..2_000) * DAY,
            })
            .collect();
        let nemp = rng.gen_range(20..=60);
        let employees = (0..nemp)
            .map(|i| {
                let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
                let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
                let stem = EMAIL_STEMS[rng.gen_range(0..EMAIL_STEMS.len())];
                let mut departments = vec![i % ndep];
                if rng.gen_bool(0.3) {
                    let d = rng.gen_range(0..ndep);
                    if d != i % ndep {
                        departments.push(d);
                    }
                }
                Employee {
                    id: 90_101 + i as i64,
                    first,
                    last,
                    email: format!("{stem}.{i}@example.ru"),
                    phone: rng
                        .gen_bool(0.4)
                        .then(|| format!("+7916{:07}", rng.gen_range(0..10_000_000))),
                    role: if i % 10 == 0 {
                        ("supervisor", "Супервайзер")
                    } else {
                        ("operator", "Оператор")
                    },
                    state: ["online", "busy", "offline"][rng.gen_range(0..3)],
                    chat_limit: rng.gen_range(3..=8),
                    departments,
                    created: ACCOUNT_EPOCH + rng.gen_range(0..2_000) * DAY,
                    updated: ACCOUNT_EPOCH + rng.gen_range(2_000..2_700) * DAY,
                }
            })
            .collect();
        Self {
            seed,
            sites,
            departments,
            employees,
            visitors: (n as f64 / 2.5).ceil().max(1.0) as u64,
        }
    }

    /// Employees of a department (falls back to everyone).
    pub(super) fn staff_of(&self, dept: Option<usize>) -> Vec<usize> {
        let v: Vec<usize> = (0..self.employees.len())
            .filter(|&i| dept.is_none_or(|d| self.employees[i].departments.contains(&d)))
            .collect();
        if v.is_empty() {
            (0..self.employees.len()).collect()
        } else {
            v
        }
    }
}

/// A returning visitor: stable attributes drawn from `(seed, visitor number)`.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    pub(super) uuid: String,
    pub(super) name: Option<&'static str>,
    pub(super) nickname: Option<String>,
    pub(super) email: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) created: i64,
    pub(super) ip: String,
    pub(super) ua: &'static str,
    pub(super) city: usize,
    pub(super) visit_count: i64,
    pub(super) chat_count: i64,
    pub(super) call_count: i64,
    pub(super) lead_count: i64,
    pub(super) banned: bool,
}

impl Visitor {
    pub(super) fn new(seed: u64, v: u64) -> Self {
        let mut rng = rng_for(seed, v as i64, S_VISITOR);
        let b: [u8; 16] = rng.gen();
        let uuid = format!(
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6] & 0xf, b[7], 8 | (b[8] & 0x3), b[8] >> 4, b[9],
            b[10], b[11], b[12], b[13], b[14], b[15]
        );
        let named = rng.gen_bool(0.6);
        let name = named.then(|| FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())]);
        let stem = EMAIL_STEMS[rng.gen_range(0..EMAIL_STEMS.len())];
        Self {
            uuid,
            name,
            nickname: rng
                .gen_bool(0.1)
                .then(|| format!("{stem}{}", rng.gen_range(1..999))),
            email: rng
                .gen_bool(0.35)
                .then(|| format!("{stem}{}@mail.example", rng.gen_range(1..99_999))),
            phone: rng
                .gen_bool(0.4)
                .then(|| format!("+79{:09}", rng.gen_range(0..1_000_000_000u64))),
            created: ACCOUNT_EPOCH + rng.gen_range(0..2_500) * DAY,
            ip: format!(
                "{}.{}.{}.{}",
                [198, 203, 192, 100][rng.gen_range(0..4)],
                rng.gen_range(0..=255),
                rng.gen_range(0..=255),
                rng.gen_range(1..=254)
            ),
            ua: USER_AGENTS[rng.gen_range(0..USER_AGENTS.len())],
            city: weighted_city(&mut rng),
            visit_count: rng.gen_range(1..40),
            chat_count: rng.gen_range(0..12),
            call_count: rng.gen_range(0..4),
            lead_count: rng.gen_range(0..3),
            banned: rng.gen_bool(0.005),
        }
    }

    pub(super) fn display_name(&self) -> &str {
        self.name.unwrap_or("Посетитель")
    }
}

fn weighted_city(rng: &mut ChaCha8Rng) -> usize {
    let total: u32 = CITIES.iter().map(|c| c.2).sum();
    let mut x = rng.gen_range(0..total);
    for (i, c) in CITIES.iter().enumerate() {
        if x < c.2 {
            return i;
        }
        x -= c.2;
    }
    0
}
