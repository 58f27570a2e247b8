//! Training under a programme: courses, cohorts with seats, enrollments and completions.
//! Seats are counted in the database (`cohorts.enrolled` with a CHECK against `seats`), so two
//! enrollments racing for the last seat cannot both get it.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::{date_text, parse_date, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::programmes::DateRange;
use serde::Serialize;
use time::Date;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Course {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cohort {
    pub id: Uuid,
    pub course_id: Uuid,
    pub programme_id: Uuid,
    pub name: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub seats: i64,
    pub enrolled: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrollment {
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub participant_name: String,
    pub participant_email: String,
    pub seller_id: Option<Uuid>,
    pub completed: bool,
}

#[derive(Debug, Clone)]
pub struct NewEnrollment {
    pub participant_name: String,
    pub participant_email: String,
    pub seller_id: Option<Uuid>,
}

row_struct! {
    struct CohortRow {
        id: String,
        course_id: String,
        programme_id: String,
        name: String,
        starts_on: String,
        ends_on: String,
        seats: i64,
        enrolled: i64,
    }
}

impl TryFrom<CohortRow> for Cohort {
    type Error = StoreError;
    fn try_from(r: CohortRow) -> StoreResult<Self> {
        const T: &str = "cohorts";
        Ok(Cohort {
            id: uuid(T, &r.id)?,
            course_id: uuid(T, &r.course_id)?,
            programme_id: uuid(T, &r.programme_id)?,
            name: r.name,
            starts_on: parse_date(T, &r.starts_on)?,
            ends_on: parse_date(T, &r.ends_on)?,
            seats: r.seats,
            enrolled: r.enrolled,
        })
    }
}

impl Store {
    pub async fn create_course(
        &self,
        ctx: &AuditContext,
        agency_id: Uuid,
        title: &str,
        description: &str,
    ) -> StoreResult<Course> {
        let course = Course {
            id: Uuid::now_v7(),
            agency_id,
            title: title.to_owned(),
            description: description.to_owned(),
        };
        self.write((ctx.clone(), course), |tx, (ctx, course)| {
            Box::pin(insert_course(tx, ctx, course))
        })
        .await
    }

    pub async fn course(&self, id: Uuid) -> StoreResult<Course> {
        let row: Option<(String, String, String, String)> =
            sql::query_as("SELECT id, agency_id, title, description FROM courses WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut self.reader().await?)
                .await?;
        let (id, agency_id, title, description) =
            row.ok_or(StoreError::NotFound { entity: "course" })?;
        Ok(Course {
            id: uuid("courses", &id)?,
            agency_id: uuid("courses", &agency_id)?,
            title,
            description,
        })
    }

    pub async fn create_cohort(
        &self,
        ctx: &AuditContext,
        course_id: Uuid,
        programme_id: Uuid,
        name: &str,
        dates: DateRange,
        seats: u32,
    ) -> StoreResult<Cohort> {
        let state = (
            ctx.clone(),
            (course_id, programme_id),
            name.to_owned(),
            dates,
            seats,
        );
        self.write(
            state,
            |tx, (ctx, (course_id, programme_id), name, dates, seats)| {
                Box::pin(insert_cohort(
                    tx,
                    ctx,
                    *course_id,
                    *programme_id,
                    name,
                    *dates,
                    *seats,
                ))
            },
        )
        .await
    }

    pub async fn cohort(&self, id: Uuid) -> StoreResult<Cohort> {
        cohort_in(&mut self.reader().await?, id).await
    }

    /// Takes a seat, or refuses when the cohort is full.
    pub async fn enroll(
        &self,
        ctx: &AuditContext,
        cohort_id: Uuid,
        who: &NewEnrollment,
    ) -> StoreResult<Enrollment> {
        let enrollment = Enrollment {
            id: Uuid::now_v7(),
            cohort_id,
            participant_name: who.participant_name.clone(),
            participant_email: who.participant_email.clone(),
            seller_id: who.seller_id,
            completed: false,
        };
        self.write((ctx.clone(), enrollment), |tx, (ctx, enrollment)| {
            Box::pin(enroll_in(tx, ctx, enrollment))
        })
        .await
    }

    /// Marks an enrollment completed (once); returns the cohort it belongs to.
    pub async fn complete_enrollment(
        &self,
        ctx: &AuditContext,
        enrollment_id: Uuid,
    ) -> StoreResult<Uuid> {
        let cohort_id = self
            .write((ctx.clone(), enrollment_id), |tx, (ctx, enrollment_id)| {
                Box::pin(complete_in(tx, ctx, *enrollment_id))
            })
            .await?;
        uuid("enrollments", &cohort_id)
    }

    /// The programme an enrollment's cohort belongs to (for permission checks).
    pub async fn enrollment_programme(&self, enrollment_id: Uuid) -> StoreResult<Uuid> {
        let row: Option<(String,)> = sql::query_as(
            "SELECT c.programme_id FROM enrollments e JOIN cohorts c ON c.id = e.cohort_id WHERE e.id = $1",
        )
        .bind(enrollment_id.to_string())
        .fetch_optional(&mut self.reader().await?)
        .await?;
        uuid(
            "enrollments",
            &row.ok_or(StoreError::NotFound {
                entity: "enrollment",
            })?
            .0,
        )
    }

    /// Measured values for a programme's KPIs: (approved exporters, completed trainees).
    pub async fn programme_measures(&self, programme_id: Uuid) -> StoreResult<(i64, i64)> {
        let (approved, trainees): (i64, i64) = sql::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM seller_applications WHERE programme_id = $1 AND status = 'approved'), \
               (SELECT COUNT(*) FROM enrollments e JOIN cohorts c ON c.id = e.cohort_id \
                WHERE c.programme_id = $1 AND e.status = 'completed')",
        )
        .bind(programme_id.to_string())
        .fetch_one(&mut self.reader().await?)
        .await?;
        Ok((approved, trainees))
    }
}

/// Stores a new course (see [`Store::create_course`]).
async fn insert_course(tx: &mut Conn, ctx: &AuditContext, course: &Course) -> StoreResult<Course> {
    sql::query(
        "INSERT INTO courses (id, agency_id, title, description, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(course.id.to_string())
    .bind(course.agency_id.to_string())
    .bind(&course.title)
    .bind(&course.description)
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    audit::record(
        tx,
        ctx,
        Change::created("course.create", "course", course.id.to_string(), course),
    )
    .await?;
    Ok(course.clone())
}

/// Stores a new cohort with no one enrolled yet (see [`Store::create_cohort`]).
async fn insert_cohort(
    tx: &mut Conn,
    ctx: &AuditContext,
    course_id: Uuid,
    programme_id: Uuid,
    name: &str,
    dates: DateRange,
    seats: u32,
) -> StoreResult<Cohort> {
    let id = Uuid::now_v7();
    sql::query(
        "INSERT INTO cohorts (id, course_id, programme_id, name, starts_on, ends_on, seats, enrolled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(id.to_string())
    .bind(course_id.to_string())
    .bind(programme_id.to_string())
    .bind(name)
    .bind(date_text(dates.start))
    .bind(date_text(dates.end))
    .bind(i64::from(seats))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await?;
    let cohort = cohort_in(tx, id).await?;
    audit::record(
        tx,
        ctx,
        Change::created("cohort.create", "cohort", id.to_string(), &cohort),
    )
    .await?;
    Ok(cohort)
}

/// Takes a seat for `enrollment` (see [`Store::enroll`]).
async fn enroll_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    enrollment: &Enrollment,
) -> StoreResult<Enrollment> {
    // The seat is taken by a conditional update, so racing enrollments cannot overfill.
    let seat =
        sql::query("UPDATE cohorts SET enrolled = enrolled + 1 WHERE id = $1 AND enrolled < seats")
            .bind(enrollment.cohort_id.to_string())
            .execute(tx)
            .await?;
    if seat.rows_affected() != 1 {
        // An unknown cohort is not found rather than full.
        cohort_in(tx, enrollment.cohort_id).await?;
        return Err(StoreError::InvalidState {
            detail: "the cohort is full".into(),
        });
    }
    sql::query(
        "INSERT INTO enrollments (id, cohort_id, participant_name, participant_email, seller_id, status, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, 'enrolled', $6)",
    )
    .bind(enrollment.id.to_string())
    .bind(enrollment.cohort_id.to_string())
    .bind(&enrollment.participant_name)
    .bind(&enrollment.participant_email)
    .bind(enrollment.seller_id.map(|u| u.to_string()))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("participant_email"))?;
    audit::record(
        tx,
        ctx,
        Change::created(
            "enrollment.create",
            "enrollment",
            enrollment.id.to_string(),
            enrollment,
        ),
    )
    .await?;
    Ok(enrollment.clone())
}

/// Marks an enrollment completed (see [`Store::complete_enrollment`]); its cohort's id as stored.
async fn complete_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    enrollment_id: Uuid,
) -> StoreResult<String> {
    let row: Option<(String, String)> =
        sql::query_as("SELECT cohort_id, status FROM enrollments WHERE id = $1")
            .bind(enrollment_id.to_string())
            .fetch_optional(tx)
            .await?;
    let (cohort_id, status) = row.ok_or(StoreError::NotFound {
        entity: "enrollment",
    })?;
    if status == "completed" {
        return Err(StoreError::InvalidState {
            detail: "the enrollment is already completed".into(),
        });
    }
    sql::query("UPDATE enrollments SET status = 'completed', completed_at = $1 WHERE id = $2")
        .bind(Timestamp::now().to_stored())
        .bind(enrollment_id.to_string())
        .execute(tx)
        .await?;
    audit::record(
        tx,
        ctx,
        Change {
            action: "enrollment.complete",
            entity_type: "enrollment",
            entity_id: enrollment_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    Ok(cohort_id)
}

async fn cohort_in(conn: &mut Conn, id: Uuid) -> StoreResult<Cohort> {
    let row: Option<CohortRow> = sql::query_as(
        "SELECT id, course_id, programme_id, name, starts_on, ends_on, seats, enrolled FROM cohorts WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound { entity: "cohort" })?
        .try_into()
}
