"""The domain and its storage, a folder per concept. Imports run down this list, never up
(tests/test_layout.py checks it):

    store      the database: engine, models, SQL helpers, the audit trail
    rules      the 産後ケア rules file and its engine; the TOML checker the city's other files share
    dates      JST days and moments, public holidays, 和暦 and 年度
    text       what people type, folded for comparison; phone numbers; a link code's shape
    safety     the city's safety net: crisis words and the centre's answers
    city       the city's files (booking, pregnancy, rich menus) and the city file that names them all
    messaging  LINE in and out: the inbox of webhook events, the outbox, timed pushes, users, heartbeats, wake-ups
    accounts   staff accounts, sign-in, sessions, the second factor
    family     pregnancies and births, link codes, the 32-week call, finished screenings
    applications  利用申請: the application form's data (contact fields encrypted), staff's approval
    staff_needs   needs only staff can judge (保健師等が認めた方), marked on her record
    care       産後ケア bookings, providers, places on a day, a booking's history
    classes    parent classes: sessions, places, waiting lists
    consult    相談 cases and the items staff must see (urgent messages, words the bot did not understand)
    records    a resident's whole record for staff, and its erasure
    reports    the fiscal year's figures
    chat       the desks the chat's dialogs use: what a dialog may ask and do for one mother
"""
