//! Word lists the generator draws from: names, places, sites, message phrases.
//!
//! Russian and English, with emoji, quotes and punctuation as real chats carry them.

/// Visitor / employee first names.
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ольга",
    "Дмитрий",
    "Анна",
    "Сергей",
    "Мария",
    "Алексей",
    "Елена",
    "Иван",
    "Наталья",
    "Павел",
    "Татьяна",
    "Андрей",
    "Юлия",
    "Михаил",
    "Светлана",
    "Николай",
    "Ирина",
    "Артём",
    "Ксения",
    "Владимир",
    "John",
    "Emma",
    "Lukas",
    "Aigerim",
    "Тимур",
    "Гульнара",
];

/// Employee last names.
pub(crate) const LAST_NAMES: &[&str] = &[
    "Соколов",
    "Иванова",
    "Кузнецов",
    "Попова",
    "Смирнов",
    "Васильева",
    "Петров",
    "Новикова",
    "Морозов",
    "Волкова",
    "Лебедев",
    "Козлова",
    "Fischer",
    "Smith",
    "Ахметова",
];

/// Latin transliterations used for e-mails (indexed like nothing in particular).
pub(crate) const EMAIL_STEMS: &[&str] = &[
    "olga", "dmitry", "anna", "sergey", "maria", "alex", "elena", "ivan", "nata", "pavel", "tanya",
    "andrey", "julia", "misha", "sveta", "kolya", "irina", "artem", "ksenia", "vova",
];

/// (city, country, weight): mostly Russian cities.
pub(crate) const CITIES: &[(&str, &str, u32)] = &[
    ("Москва", "Россия", 30),
    ("Санкт-Петербург", "Россия", 14),
    ("Екатеринбург", "Россия", 6),
    ("Новосибирск", "Россия", 5),
    ("Казань", "Россия", 5),
    ("Нижний Новгород", "Россия", 4),
    ("Краснодар", "Россия", 4),
    ("Самара", "Россия", 3),
    ("Ростов-на-Дону", "Россия", 3),
    ("Владивосток", "Россия", 2),
    ("Минск", "Беларусь", 2),
    ("Алматы", "Казахстан", 2),
    ("Berlin", "Germany", 1),
];

/// (host, theme) of the account's sites.
pub(crate) const SITES: &[(&str, &str)] = &[
    ("https://mebel.example.ru", "mebel"),
    ("https://shop.example.ru", "shop"),
    ("https://clinic.example.ru", "clinic"),
    ("https://auto.example.ru", "auto"),
];

/// Department titles.
pub(crate) const DEPARTMENTS: &[&str] = &[
    "Продажи",
    "Поддержка",
    "Доставка",
    "Бухгалтерия",
    "Сервис",
    "VIP-клиенты",
    "Возвраты",
    "English support",
];

/// Site paths.
pub(crate) const PAGES: &[&str] = &[
    "/",
    "/catalog",
    "/catalog/sofas/orion",
    "/catalog/sale",
    "/delivery",
    "/contacts",
    "/cart",
    "/checkout",
    "/account/orders",
    "/blog/kak-vybrat",
    "/promo?utm_source=vk",
];

/// Search queries (Russian and English).
pub(crate) const QUERIES: &[&str] = &[
    "доставка дивана в выходные",
    "купить кресло недорого",
    "запись к стоматологу",
    "шиномонтаж рядом",
    "возврат товара сроки",
    "интернет магазин отзывы",
    "sofa delivery moscow",
    "скидки чёрная пятница",
    "ремонт кондиционера авто",
    "\"Орион\" диван цена",
];

/// Visitor phrases.
pub(crate) const VISITOR_PHRASES: &[&str] = &[
    "Здравствуйте!",
    "Добрый день, подскажите по доставке",
    "Доставите в субботу?",
    "Сколько стоит сборка?",
    "Есть ли в наличии серый цвет?",
    "Хочу вернуть заказ №48211",
    "Отлично 👍",
    "Спасибо большое! 🙏",
    "А можно оплатить картой при получении?",
    "Hi, do you ship to Kazakhstan?",
    "Can I change my order?",
    "Не пришло письмо с подтверждением 😕",
    "Модель \"Орион\", серый",
    "ок",
    "Перезвоните мне, пожалуйста",
    "Где мой заказ??",
    "Адрес: ул. Ленина, д. 5, кв. 12",
    "Thanks!",
];

/// Employee phrases.
pub(crate) const EMPLOYEE_PHRASES: &[&str] = &[
    "Добрый день! Чем могу помочь?",
    "Да, в субботу с 10 до 14 — подойдёт?",
    "Сборка бесплатно при заказе от 30 000 ₽.",
    "Уточню на складе, одну минуту ⏳",
    "Серый есть в наличии, 3 шт.",
    "Оформила возврат, деньги придут в течение 10 дней.",
    "Да, можно оплатить картой курьеру.",
    "Hello! Yes, we ship to Kazakhstan, delivery takes 5–7 days.",
    "Отправила письмо повторно, проверьте папку «Спам».",
    "Ваш заказ передан в доставку 🚚",
    "Хорошего дня! 😊",
    "Пожалуйста, обращайтесь!",
];

/// Lead texts.
pub(crate) const LEAD_TEXTS: &[&str] = &[
    "Перезвоните, уточню адрес",
    "Хочу заказать диван, свяжитесь со мной",
    "Нужна консультация по гарантии",
    "Please call me back after 18:00",
    "Интересует оптовая закупка",
];

/// Lead answers.
pub(crate) const LEAD_ANSWERS: &[&str] = &[
    "Перезвонили, адрес уточнён",
    "Клиент оформил заказ",
    "Не дозвонились, отправлено письмо",
    "Called back, order placed",
];

/// Complaint texts.
pub(crate) const COMPLAINTS: &[&str] = &[
    "Оператор долго не отвечал",
    "Грубое общение",
    "Не решили мой вопрос",
    "Operator closed the chat without answering",
];

/// Invitation texts (`widget_id` of `invite` conversations).
pub(crate) const INVITES: &[&str] = &[
    "Здравствуйте! Могу помочь с выбором?",
    "Сегодня скидка 10% — подсказать?",
];

/// User agents.
pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/17.6 Safari/605.1.15",
];
