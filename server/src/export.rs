//! Exports of a bulletin: an Excel workbook (.xlsx) with the zone's KPIs and the two rankings,
//! and CSV of the rankings, with Chinese column headings.

use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};

use crate::api::{Bulletin, ChannelCount, Kpis, RankRow};

/// Column headings of a ranking; the last three split 满意率 by the rating's channel, each
/// "satisfied/rated".
pub const HEADINGS: [&str; 14] = [
    "排名",
    "单位",
    "问题数",
    "已解决",
    "解决率",
    "按时办结率",
    "超期",
    "满意率",
    "回头看通过率",
    "走访覆盖率",
    "走访次数",
    "企业自评（满意/评价）",
    "干部代录·企业签字（满意/评价）",
    "干部代录（满意/评价）",
];

fn pct(r: Option<f64>) -> String {
    r.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// "satisfied/rated" of one channel.
fn of(c: &ChannelCount) -> String {
    format!("{}/{}", c.satisfied, c.rated)
}

fn cells(rank: usize, name: &str, k: &Kpis) -> [String; 14] {
    let by = &k.rated_by_channel;
    [
        rank.to_string(),
        name.to_string(),
        k.problems.to_string(),
        k.resolved.to_string(),
        pct(k.resolution_rate),
        pct(k.on_time_rate),
        k.overdue.to_string(),
        pct(k.satisfaction_rate),
        pct(k.look_back_pass_rate),
        pct(k.visit_coverage),
        k.visits.to_string(),
        of(&by.enterprise),
        of(&by.officer_signed),
        of(&by.officer),
    ]
}

fn write_ranking(sheet: &mut Worksheet, rows: &[RankRow]) -> Result<(), XlsxError> {
    for (c, h) in HEADINGS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let k = &row.kpis;
        let line = (r + 1) as u32;
        sheet.write_number(line, 0, row.rank as f64)?;
        sheet.write_string(line, 1, &row.name)?;
        sheet.write_number(line, 2, k.problems as f64)?;
        sheet.write_number(line, 3, k.resolved as f64)?;
        let rates = [k.resolution_rate, k.on_time_rate];
        for (i, rate) in rates.iter().enumerate() {
            match rate {
                Some(x) => sheet.write_number(line, 4 + i as u16, *x)?,
                None => sheet.write_string(line, 4 + i as u16, "—")?,
            };
        }
        sheet.write_number(line, 6, k.overdue as f64)?;
        for (i, rate) in [k.satisfaction_rate, k.look_back_pass_rate, k.visit_coverage]
            .iter()
            .enumerate()
        {
            match rate {
                Some(x) => sheet.write_number(line, 7 + i as u16, *x)?,
                None => sheet.write_string(line, 7 + i as u16, "—")?,
            };
        }
        sheet.write_number(line, 10, k.visits as f64)?;
        let by = &k.rated_by_channel;
        for (i, c) in [&by.enterprise, &by.officer_signed, &by.officer]
            .into_iter()
            .enumerate()
        {
            sheet.write_string(line, 11 + i as u16, of(c))?;
        }
    }
    Ok(())
}

/// The bulletin as an .xlsx workbook: sheets 概况 (zone KPIs), 镇街排名, 部门排名.
pub fn bulletin_xlsx(b: &Bulletin) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let summary = wb.add_worksheet();
    summary.set_name("概况")?;
    summary.write_string(0, 0, &b.title)?;
    for (c, h) in HEADINGS.iter().enumerate().skip(1) {
        summary.write_string(1, c as u16, *h)?;
    }
    for (c, v) in cells(0, "全区", &b.zone).iter().enumerate().skip(1) {
        summary.write_string(2, c as u16, v)?;
    }
    let towns = wb.add_worksheet();
    towns.set_name("镇街排名")?;
    write_ranking(towns, &b.towns)?;
    let depts = wb.add_worksheet();
    depts.set_name("部门排名")?;
    write_ranking(depts, &b.departments)?;
    wb.save_to_buffer()
}

/// One CSV cell. A cell a spreadsheet program would take for a formula (starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return; names come from outside) is neutralized with a
/// leading `'`, and a cell holding a separator, quote or line break is quoted.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rankings as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese).
pub fn bulletin_csv(b: &Bulletin) -> String {
    let mut out = String::from("\u{feff}类别,");
    out.push_str(&HEADINGS.join(","));
    out.push('\n');
    for (kind, rows) in [("镇街", &b.towns), ("部门", &b.departments)] {
        for row in rows.iter() {
            let line: Vec<String> = cells(row.rank, &row.name, &row.kpis)
                .iter()
                .map(|c| csv_field(c))
                .collect();
            out.push_str(kind);
            out.push(',');
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, Xlsx};
    use shared::model::{DAY_MS, Timestamp, UserId};

    use super::*;
    use crate::store::test_support::demo_store;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    #[test]
    fn a_unit_name_a_spreadsheet_would_run_as_a_formula_is_exported_as_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _d) = demo_store(dir.path(), NOW);
        let by = UserId::from_random_bytes([4; 16]);
        let mut b = store
            .issue_bulletin(
                "通报",
                Timestamp(NOW.0 - 90 * DAY_MS),
                NOW,
                NOW,
                by,
                &Default::default(),
            )
            .expect("issued");
        b.towns[0].name = "=HYPERLINK(\"http://x\",\"点我\")".into();
        b.towns[1].name = "@SUM(A1)".into();
        b.towns[2].name = "-1+2".into();

        let csv = bulletin_csv(&b);
        let rows: Vec<&str> = csv.lines().skip(1).take(3).collect();
        assert!(
            rows[0].starts_with("镇街,1,\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\","),
            "{}",
            rows[0]
        );
        assert!(rows[1].starts_with("镇街,2,'@SUM(A1),"), "{}", rows[1]);
        assert!(rows[2].starts_with("镇街,3,'-1+2,"), "{}", rows[2]);
    }

    #[test]
    fn an_issued_bulletin_exports_to_xlsx_and_csv_and_never_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut store, _d) = demo_store(dir.path(), NOW);
        let by = UserId::from_random_bytes([4; 16]);
        let b = store
            .issue_bulletin(
                "2026年第四季度“万人助万企”活动通报",
                Timestamp(NOW.0 - 90 * DAY_MS),
                NOW,
                NOW,
                by,
                &Default::default(),
            )
            .expect("issued");
        assert_eq!(b.towns.len(), 3);
        assert_eq!(b.departments.len(), 4);
        assert!(
            b.towns
                .windows(2)
                .all(|w| w[0].kpis.resolution_rate.unwrap_or(-1.0)
                    >= w[1].kpis.resolution_rate.unwrap_or(-1.0))
        );

        let bytes = bulletin_xlsx(&b).expect("xlsx");
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("opens");
        let towns = book.worksheet_range("镇街排名").expect("sheet");
        let rows: Vec<Vec<Data>> = towns.rows().map(|r| r.to_vec()).collect();
        assert_eq!(rows.len(), 4, "headings and three towns");
        assert_eq!(rows[0][1], Data::String("单位".into()));
        for (row, expected) in rows[1..].iter().zip(&b.towns) {
            assert_eq!(row[1], Data::String(expected.name.clone()));
            assert_eq!(row[2], Data::Float(expected.kpis.problems as f64));
            assert_eq!(row[10], Data::Float(expected.kpis.visits as f64));
            let signed = &expected.kpis.rated_by_channel.officer_signed;
            assert_eq!(
                row[12],
                Data::String(format!("{}/{}", signed.satisfied, signed.rated))
            );
        }
        assert_eq!(rows[0][11], Data::String("企业自评（满意/评价）".into()));
        let depts = book.worksheet_range("部门排名").expect("sheet");
        assert_eq!(depts.rows().count(), 5);

        let csv = bulletin_csv(&b);
        assert_eq!(csv.lines().count(), 1 + 3 + 4);
        assert!(csv.lines().nth(1).is_some_and(|l| l.starts_with("镇街,1,")));

        assert!(
            store.retitle_bulletin(b.id, "改过的标题").is_err(),
            "an issued bulletin is immutable"
        );
        assert_eq!(store.bulletin(b.id).expect("reads").expect("exists"), b);
    }
}
