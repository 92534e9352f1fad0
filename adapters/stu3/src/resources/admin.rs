//! Patient, Practitioner, `PractitionerRole`, Organization and
//! `RelatedPerson`: the same shape in STU3 and R4 apart from
//! `Patient.animal` and how often a related person's relationship repeats.

use crate::engine::{Ctx, Dir, Res};

pub(super) fn patient(r: &mut Res<'_>) {
    // STU3 `animal` is not listed: R4 moved it to an extension whose shape
    // differs, so it is reported rather than guessed.
    r.same(&[
        "identifier",
        "active",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "deceasedBoolean",
        "deceasedDateTime",
        "address",
        "maritalStatus",
        "multipleBirthBoolean",
        "multipleBirthInteger",
        "photo",
        "contact",
        "communication",
        "generalPractitioner",
        "managingOrganization",
        "link",
    ]);
}

pub(super) fn practitioner(r: &mut Res<'_>) {
    r.same(&[
        "identifier",
        "active",
        "name",
        "telecom",
        "address",
        "gender",
        "birthDate",
        "photo",
        "qualification",
        "communication",
    ]);
}

pub(super) fn practitioner_role(r: &mut Res<'_>) {
    r.same(&[
        "identifier",
        "active",
        "period",
        "practitioner",
        "organization",
        "code",
        "specialty",
        "location",
        "healthcareService",
        "telecom",
        "availableTime",
        "notAvailable",
        "availabilityExceptions",
        "endpoint",
    ]);
}

pub(super) fn organization(r: &mut Res<'_>) {
    r.same(&[
        "identifier",
        "active",
        "type",
        "name",
        "alias",
        "telecom",
        "address",
        "partOf",
        "contact",
        "endpoint",
    ]);
}

/// `RelatedPerson`: one `relationship` in STU3, several in R4; R4 added
/// `communication`, which STU3 cannot hold.
pub(super) fn related_person(ctx: &mut Ctx, r: &mut Res<'_>) {
    r.same(&[
        "identifier",
        "active",
        "patient",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "address",
        "photo",
        "period",
    ]);
    match ctx.dir {
        Dir::ToR4 => r.wrap("relationship", "relationship"),
        Dir::ToStu3 => r.first(ctx, "relationship", "relationship"),
    }
}
