//! The bulk import of users (用户批量导入) from a CSV file `login,name,role,org_unit,phone,
//! password` (`phone` and `password` optional), for `users import FILE` and
//! `POST /api/admin/imports/users`: every line checked as `users add` checks one user
//! ([`super::accounts::check_account`], the password policy), every bad line reported by its
//! number, and all users stored in one transaction or none, with one `user_added` audit entry
//! per user and one `imported` entry for the file in that same transaction.
//!
//! Passwords: a `password` cell is checked by the policy like any new password; an empty one
//! (or no column) gets a generated password ([`generate_password`], 12 characters from an
//! alphabet without look-alikes), answered once in the import's report and never stored in
//! clear. They are ordinary passwords: the user is told to change theirs with
//! `POST /api/account/password` (nothing forces it). Checking is quick and needs the
//! directory's facts ([`super::accounts::DirectoryFacts`]); hashing is slow (argon2, one per
//! user) and does not ([`hash_users`]), so the server, on either database, checks against a
//! listing read through [`crate::db::Directory`], hashes, then stores the rows [`to_store`]
//! makes with `Directory::add_people`.

use std::collections::BTreeSet;

use rand::RngCore as _;
use shared::model::Timestamp;

use super::AdminError;
use super::accounts::{CheckedAccount, DirectoryFacts, NewAccount, check_account};
use super::import::{ImportFile, LineError, field, parse_table};
use crate::auth::{Secret, password, policy};
use crate::store::{ImportedUser, PasswordHash, SqliteStore};

/// Most users one file may add (a province's largest district has a few thousand people).
pub const MAX_USERS: usize = 5_000;

/// Characters of a generated password.
const GENERATED_CHARS: usize = 12;

/// Letters and digits that cannot be mistaken for one another when read aloud or copied by
/// hand (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// One good line: the checked user and the password the file gave, if any.
#[derive(Debug)]
pub struct CheckedUser {
    /// The line in the file.
    pub line: u64,
    /// The user's fields, checked.
    pub account: CheckedAccount,
    /// The password from the file; none: one is generated.
    pub password: Option<Secret>,
}

/// One user ready to store: its hash, and the password if it was generated (told once).
#[derive(Debug)]
pub struct HashedUser {
    /// The user's fields, checked.
    pub account: CheckedAccount,
    /// The password's hash.
    pub hash: PasswordHash,
    /// The generated password; none when the file gave one.
    pub generated: Option<Secret>,
}

/// What a users import stored.
#[derive(Debug, Default)]
pub struct UsersReport {
    /// Users added.
    pub imported: usize,
    /// The generated passwords, by login, in the file's order: shown once, never stored.
    pub generated: Vec<(String, Secret)>,
}

/// Checks every line of `text`.
///
/// # Errors
/// [`AdminError::Lines`] naming every bad line (a field `users add` refuses, a login taken
/// or given twice, a password the policy refuses); [`AdminError::Store`].
pub fn check_users(
    store: &dyn DirectoryFacts,
    file: ImportFile<'_>,
) -> Result<Vec<CheckedUser>, AdminError> {
    let table = parse_table(
        file,
        &["login", "name", "role", "org_unit"],
        &["phone", "password"],
    )?;
    if table.rows.len() > MAX_USERS {
        return Err(AdminError::Lines(vec![LineError {
            line: 1,
            message: format!(
                "{} users; one file adds at most {MAX_USERS}",
                table.rows.len()
            ),
        }]));
    }
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut users = Vec::new();
    for (line, row) in &table.rows {
        let mut err = |message: String| {
            errors.push(LineError {
                line: *line,
                message,
            });
        };
        let phone = Some(field(row, "phone").to_string()).filter(|p| !p.is_empty());
        let account = NewAccount {
            login: field(row, "login").to_string(),
            name: field(row, "name").to_string(),
            role: field(row, "role").to_string(),
            org_unit: field(row, "org_unit").to_string(),
            phone,
        };
        let checked = match check_account(store, &account) {
            Ok(c) => c,
            Err(AdminError::Invalid(why)) => {
                err(why);
                continue;
            }
            Err(other) => return Err(other),
        };
        let login = checked.user.login.clone();
        if !seen.insert(login.clone()) {
            err(format!("login {login:?} appears twice"));
            continue;
        }
        if store.user_by_login(&login)?.is_some() {
            err(format!("login {login:?} is taken"));
            continue;
        }
        let password = match field(row, "password") {
            "" => None,
            given => {
                let secret = Secret::new(given);
                if let Err(broken) = policy::check(&secret, &login, None) {
                    err(broken.to_string());
                    continue;
                }
                Some(secret)
            }
        };
        users.push(CheckedUser {
            line: *line,
            account: checked,
            password,
        });
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        Err(AdminError::Lines(errors))
    }
}

/// A new random password the policy accepts for `login`.
pub fn generate_password(login: &str) -> Secret {
    let mut rng = rand::rng();
    loop {
        let mut text = String::with_capacity(GENERATED_CHARS);
        while text.len() < GENERATED_CHARS {
            let mut byte = [0u8; 1];
            rng.fill_bytes(&mut byte);
            // Rejection sampling: only bytes below a multiple of the alphabet's length.
            let bound = 256 - 256 % ALPHABET.len();
            if usize::from(byte[0]) < bound {
                text.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
            }
        }
        let secret = Secret::new(text);
        if policy::check(&secret, login, None).is_ok() {
            return secret;
        }
    }
}

/// Hashes each user's password, generating those the file left empty. Slow (argon2 per
/// user): on the server, run it on a hashing thread, outside the store.
///
/// # Errors
/// [`AdminError::Invalid`] when hashing fails.
pub fn hash_users(users: Vec<CheckedUser>) -> Result<Vec<HashedUser>, AdminError> {
    users
        .into_iter()
        .map(|u| {
            let (secret, generated) = match u.password {
                Some(given) => (given, false),
                None => (generate_password(&u.account.user.login), true),
            };
            let hash = password::hash(&secret).map_err(|e| AdminError::Invalid(e.to_string()))?;
            Ok(HashedUser {
                account: u.account,
                hash,
                generated: generated.then_some(secret),
            })
        })
        .collect()
}

/// What a users import stores: one row per user, its `user_added` entry's detail as `users
/// add` writes it saying which import (`subject`) added them; the report; and the `imported`
/// entry's detail (the counts).
pub fn to_store(users: Vec<HashedUser>, subject: &str) -> (Vec<ImportedUser>, UsersReport, String) {
    let mut report = UsersReport {
        imported: users.len(),
        generated: Vec::new(),
    };
    let mut rows = Vec::with_capacity(users.len());
    for u in users {
        if let Some(secret) = u.generated {
            report
                .generated
                .push((u.account.user.login.clone(), secret));
        }
        let mut row = super::accounts::added(&u.account, u.hash);
        row.detail = format!("{} ({subject})", row.detail);
        rows.push(row);
    }
    let detail = format!(
        "{} user(s), {} password(s) generated",
        report.imported,
        report.generated.len()
    );
    (rows, report, detail)
}

/// Stores every user in one transaction with their audit entries, as `actor`'s: one
/// `user_added` per user, then one `imported` naming `subject` with the counts ([`to_store`]).
///
/// # Errors
/// [`AdminError::Store`]: a login taken since the check (`Duplicate`); nothing is stored then.
pub fn store_users(
    store: &mut SqliteStore,
    users: Vec<HashedUser>,
    now: Timestamp,
    actor: &str,
    subject: &str,
) -> Result<UsersReport, AdminError> {
    let (rows, report, detail) = to_store(users, subject);
    store.create_users(&rows, now, actor, Some((subject, &detail)))?;
    Ok(report)
}
