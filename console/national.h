/*
 * national: a national database made of the provinces' own by PostgreSQL's
 * logical replication (deploy/sql/0012_national.sql says what travels and
 * why no two provinces' rows collide).  A province's database publishes
 * (`tallyfeed db publish`), the national database subscribes to each
 * province (`tallyfeed db subscribe`), and its totals, progress and
 * composition are the country's, by province, with how far each
 * province's rows have come (`tallyfeed provinces`, national_note).
 */
#ifndef TF_NATIONAL_H
#define TF_NATIONAL_H

#include "console.h"

/* What every province's database publishes, and the prefix of the
 * national database's subscription to each: tallyfeed_63 for Qinghai. */
#define NATIONAL_PUBLICATION "tallyfeed_national"
#define NATIONAL_SUBSCRIPTION_PREFIX "tallyfeed_"

/* tallyfeed db publish: on a province's database. */
int console_db_publish(console_db_t *db, int argc, char **argv);
/* tallyfeed db subscribe --province CODE CONNINFO: on the national one. */
int console_db_subscribe(console_db_t *db, int argc, char **argv);
/* tallyfeed provinces: each subscribed province's replication state. */
int console_provinces(console_db_t *db, int argc, char **argv);

/* After a report printed in format: on a national database, a line per
 * province saying how old its figures are (to stdout after a table, to
 * stderr after csv or json, whose stdout is for programs); nothing on a
 * database that subscribes to no province. */
void national_note(PGconn *conn, table_format_t format);

#endif
