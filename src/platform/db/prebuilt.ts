import { is, Param, Placeholder, SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';

/** The dialect of every drizzle client here (connect() passes the same casing). */
const dialect = new PgDialect({ casing: 'snake_case' });

/**
 * A value of a prebuilt statement, bound at each call: it stands in for the value it names in
 * the statement's SQL, and only there (a builder that computed with it would compute with the
 * placeholder, once).
 */
export type Bound = Placeholder;

/**
 * The text and bound parameters of a statement, already built: `tx.execute` sends it as it is.
 * It cannot be a fragment of another statement (its parameters are numbered already): building one
 * that embeds it fails.
 */
class BuiltSQL extends SQL {
  constructor(private readonly builtText: string, private readonly builtParams: unknown[]) {
    super([{ getSQL: () => { throw new Error('a prebuilt statement is sent as it is, never embedded in another'); } }]);
  }

  override toQuery() {
    return { sql: this.builtText, params: this.builtParams };
  }
}

/**
 * A statement built by drizzle once, at its first call, and bound to each call's values after
 * that. For the statements a hot route sends on every request (a redemption's): drizzle walks
 * every fragment of a template each time it builds it, which for a statement of several CTEs
 * costs more CPU than Postgres spends running it. `build` gets a placeholder for each value
 * named in `names`; anything else it puts in the statement is fixed at the first call.
 */
export function prebuilt<K extends string>(names: readonly K[], build: (values: Record<K, Bound>) => SQL) {
  let built: { text: string; bind: (values: Record<K, unknown>) => unknown[] } | undefined;
  return (values: Record<K, unknown>): SQL => {
    built ??= compile(names, building(() => build(Object.fromEntries(names.map((n) => [n, sql.placeholder(n)])) as unknown as Record<K, Bound>)));
    return new BuiltSQL(built.text, built.bind(values));
  };
}

let buildingNow = false;

function building<T>(build: () => T): T {
  buildingNow = true;
  try {
    return build();
  } finally {
    buildingNow = false;
  }
}

/**
 * For a statement's builder that draws a value of its own (an id) unless given one: refused while
 * a prebuilt statement is built, where the value would be drawn once and sent with every call.
 */
export function drawn<T>(draw: () => T): T {
  if (buildingNow) throw new Error('a prebuilt statement binds every value it draws (an id): name it among its values');
  return draw();
}

function compile<K extends string>(names: readonly K[], statement: SQL) {
  const query = dialect.sqlToQuery(statement);
  // Where each parameter's value comes from: a placeholder's call value (through its column's
  // encoder, if any), or the value fixed at the build.
  const used = new Set<string>();
  const slots = query.params.map((p): ((values: Record<string, unknown>) => unknown) => {
    if (is(p, Placeholder)) {
      used.add(p.name);
      return (values) => valueOf(values, p.name);
    }
    if (is(p, Param) && is(p.value, Placeholder)) {
      const { encoder, value: { name } } = p as Param & { value: Placeholder };
      used.add(name);
      return (values) => {
        const value = valueOf(values, name);
        return value === null ? null : encoder.mapToDriverValue(value);
      };
    }
    return () => p;
  });
  // A value the statement never sends was used by the builder's own logic, decided once for all calls.
  const unused = names.filter((n) => !used.has(n));
  if (unused.length) throw new Error(`a prebuilt statement does not send ${unused.join(', ')}: a builder may only place its values`);
  return { text: query.sql, bind: (values: Record<K, unknown>) => slots.map((slot) => slot(values)) };
}

function valueOf(values: Record<string, unknown>, name: string) {
  if (!(name in values)) throw new Error(`no value for ${name} in a prebuilt statement`);
  return values[name];
}
