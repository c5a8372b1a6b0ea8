//! The shared layout's aggregate marker: how the shared repository records that its
//! aggregate exists, in the one place Cloudsmith lets a repository carry free text, its
//! description.
//!
//! The marker is the line [`AGGREGATE_MARKER`] at the end of the description, after the
//! aggregate's own description (if it has one) and a blank line. This crate owns that
//! line: it writes it when the aggregate is ensured, removes it when the aggregate is
//! deleted, and shows the description without it. A repository without the line has no
//! aggregate, whatever upstreams it holds; and since the aggregate owns the order of the
//! repository's upstreams, the line is also the claim on that order.

/// The last line of the shared repository's description while its aggregate exists.
pub(crate) const AGGREGATE_MARKER: &str = "[pull-through: aggregate, the order of these upstreams]";

/// A repository description as this crate reads it: the text a person sees as the
/// aggregate's description (the marker line and the blank line before it removed), and
/// whether the marker was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Described {
    pub(crate) text: Option<String>,
    pub(crate) marked: bool,
}

/// Splits `description` into its text and the marker.
pub(crate) fn read(description: Option<&str>) -> Described {
    let description = description.unwrap_or_default();
    let trimmed = description.trim_end();
    let (text, marked) = match trimmed.strip_suffix(AGGREGATE_MARKER) {
        Some(rest) if rest.is_empty() || rest.ends_with('\n') => (rest.trim_end(), true),
        _ => (trimmed, false),
    };
    Described {
        text: (!text.is_empty()).then(|| text.to_owned()),
        marked,
    }
}

/// The description holding `text` and, when `marked`, the marker.
pub(crate) fn write(text: Option<&str>, marked: bool) -> String {
    let text = text.map(str::trim_end).unwrap_or_default();
    match (text.is_empty(), marked) {
        (_, false) => text.to_owned(),
        (true, true) => AGGREGATE_MARKER.to_owned(),
        (false, true) => format!("{text}\n\n{AGGREGATE_MARKER}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_is_never_part_of_the_text() {
        for (text, marked) in [
            (None, true),
            (Some("Chainguard images (seed 004)"), true),
            (Some("Chainguard images\nsecond line"), true),
            (Some("Chainguard images"), false),
            (None, false),
        ] {
            let description = write(text, marked);
            assert_eq!(
                read(Some(&description)),
                Described {
                    text: text.map(str::to_owned),
                    marked
                },
                "{description:?}"
            );
        }
        assert_eq!(write(None, true), AGGREGATE_MARKER);
        assert_eq!(
            write(Some("Images"), true),
            format!("Images\n\n{AGGREGATE_MARKER}")
        );
        // Only a line of its own counts: text that merely ends the same way is not it.
        let lookalike = format!("see {AGGREGATE_MARKER}");
        assert!(!read(Some(&lookalike)).marked);
        assert_eq!(
            read(None),
            Described {
                text: None,
                marked: false
            }
        );
        assert!(read(Some(&format!("{AGGREGATE_MARKER}\n"))).marked);
    }
}
