import type mysql from 'mysql2';

export interface SakilaOptions {
  /** The generator's seed: the same seed gives the same rows, value for value. */
  seed?: number;
  /** `address.location` (GEOMETRY NOT NULL) and its SPATIAL index. */
  spatial?: boolean;
  /** Sakila's seven views. */
  views?: boolean;
  /** The three triggers that keep `film_text` in step with `film`. */
  triggers?: boolean;
}

const defaults: Required<SakilaOptions> = { seed: 1, spatial: true, views: true, triggers: true };

/** Sakila's sixteen tables and the rows each holds in the real sample database. */
export const SAKILA_ROWS = {
  actor: 200,
  address: 603,
  category: 16,
  city: 600,
  country: 109,
  customer: 599,
  film: 1000,
  film_actor: 5462,
  film_category: 1000,
  film_text: 1000,
  inventory: 4581,
  language: 6,
  payment: 16049,
  rental: 16044,
  staff: 2,
  store: 2,
} as const;
export type SakilaTable = keyof typeof SAKILA_ROWS;
export const SAKILA_TABLES = Object.keys(SAKILA_ROWS) as SakilaTable[];

// The DDL follows the Sakila sample database schema, (c) 2014 Oracle Corporation, BSD licence (via datacharmer/test_db).
const TIMESTAMP_COLUMN = 'last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP';
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb3';
const RULES = 'ON DELETE RESTRICT ON UPDATE CASCADE';

function tableDdl({ spatial }: Required<SakilaOptions>): Record<SakilaTable, string> {
  return {
    actor: `actor_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, first_name VARCHAR(45) NOT NULL,
      last_name VARCHAR(45) NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (actor_id), KEY idx_actor_last_name (last_name)`,
    address: `address_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, address VARCHAR(50) NOT NULL,
      address2 VARCHAR(50) DEFAULT NULL, district VARCHAR(20) NOT NULL, city_id SMALLINT UNSIGNED NOT NULL,
      postal_code VARCHAR(10) DEFAULT NULL, phone VARCHAR(20) NOT NULL,
      ${spatial ? 'location GEOMETRY NOT NULL,' : ''} ${TIMESTAMP_COLUMN},
      PRIMARY KEY (address_id), KEY idx_fk_city_id (city_id), ${spatial ? 'SPATIAL KEY idx_location (location),' : ''}
      CONSTRAINT fk_address_city FOREIGN KEY (city_id) REFERENCES city (city_id) ${RULES}`,
    category: `category_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, name VARCHAR(25) NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (category_id)`,
    city: `city_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, city VARCHAR(50) NOT NULL,
      country_id SMALLINT UNSIGNED NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (city_id), KEY idx_fk_country_id (country_id),
      CONSTRAINT fk_city_country FOREIGN KEY (country_id) REFERENCES country (country_id) ${RULES}`,
    country: `country_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, country VARCHAR(50) NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (country_id)`,
    customer: `customer_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, store_id TINYINT UNSIGNED NOT NULL,
      first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL, email VARCHAR(50) DEFAULT NULL,
      address_id SMALLINT UNSIGNED NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE, create_date DATETIME NOT NULL,
      last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      PRIMARY KEY (customer_id), KEY idx_fk_store_id (store_id), KEY idx_fk_address_id (address_id),
      KEY idx_last_name (last_name),
      CONSTRAINT fk_customer_address FOREIGN KEY (address_id) REFERENCES address (address_id) ${RULES},
      CONSTRAINT fk_customer_store FOREIGN KEY (store_id) REFERENCES store (store_id) ${RULES}`,
    film: `film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, title VARCHAR(255) NOT NULL,
      description TEXT DEFAULT NULL, release_year YEAR DEFAULT NULL, language_id TINYINT UNSIGNED NOT NULL,
      original_language_id TINYINT UNSIGNED DEFAULT NULL, rental_duration TINYINT UNSIGNED NOT NULL DEFAULT 3,
      rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99, length SMALLINT UNSIGNED DEFAULT NULL,
      replacement_cost DECIMAL(5,2) NOT NULL DEFAULT 19.99, rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G',
      special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes') DEFAULT NULL,
      ${TIMESTAMP_COLUMN},
      PRIMARY KEY (film_id), KEY idx_title (title), KEY idx_fk_language_id (language_id),
      KEY idx_fk_original_language_id (original_language_id),
      CONSTRAINT fk_film_language FOREIGN KEY (language_id) REFERENCES language (language_id) ${RULES},
      CONSTRAINT fk_film_language_original FOREIGN KEY (original_language_id) REFERENCES language (language_id) ${RULES}`,
    film_actor: `actor_id SMALLINT UNSIGNED NOT NULL, film_id SMALLINT UNSIGNED NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (actor_id, film_id), KEY idx_fk_film_id (film_id),
      CONSTRAINT fk_film_actor_actor FOREIGN KEY (actor_id) REFERENCES actor (actor_id) ${RULES},
      CONSTRAINT fk_film_actor_film FOREIGN KEY (film_id) REFERENCES film (film_id) ${RULES}`,
    film_category: `film_id SMALLINT UNSIGNED NOT NULL, category_id TINYINT UNSIGNED NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (film_id, category_id),
      CONSTRAINT fk_film_category_film FOREIGN KEY (film_id) REFERENCES film (film_id) ${RULES},
      CONSTRAINT fk_film_category_category FOREIGN KEY (category_id) REFERENCES category (category_id) ${RULES}`,
    film_text: `film_id SMALLINT NOT NULL, title VARCHAR(255) NOT NULL, description TEXT,
      PRIMARY KEY (film_id), FULLTEXT KEY idx_title_description (title, description)`,
    inventory: `inventory_id MEDIUMINT UNSIGNED NOT NULL AUTO_INCREMENT, film_id SMALLINT UNSIGNED NOT NULL,
      store_id TINYINT UNSIGNED NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (inventory_id), KEY idx_fk_film_id (film_id), KEY idx_store_id_film_id (store_id, film_id),
      CONSTRAINT fk_inventory_store FOREIGN KEY (store_id) REFERENCES store (store_id) ${RULES},
      CONSTRAINT fk_inventory_film FOREIGN KEY (film_id) REFERENCES film (film_id) ${RULES}`,
    language: `language_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, name CHAR(20) NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (language_id)`,
    payment: `payment_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT, customer_id SMALLINT UNSIGNED NOT NULL,
      staff_id TINYINT UNSIGNED NOT NULL, rental_id INT DEFAULT NULL, amount DECIMAL(5,2) NOT NULL,
      payment_date DATETIME NOT NULL, last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
      PRIMARY KEY (payment_id), KEY idx_fk_staff_id (staff_id), KEY idx_fk_customer_id (customer_id),
      CONSTRAINT fk_payment_rental FOREIGN KEY (rental_id) REFERENCES rental (rental_id) ON DELETE SET NULL ON UPDATE CASCADE,
      CONSTRAINT fk_payment_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ${RULES},
      CONSTRAINT fk_payment_staff FOREIGN KEY (staff_id) REFERENCES staff (staff_id) ${RULES}`,
    rental: `rental_id INT NOT NULL AUTO_INCREMENT, rental_date DATETIME NOT NULL,
      inventory_id MEDIUMINT UNSIGNED NOT NULL, customer_id SMALLINT UNSIGNED NOT NULL,
      return_date DATETIME DEFAULT NULL, staff_id TINYINT UNSIGNED NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (rental_id), UNIQUE KEY (rental_date, inventory_id, customer_id),
      KEY idx_fk_inventory_id (inventory_id), KEY idx_fk_customer_id (customer_id), KEY idx_fk_staff_id (staff_id),
      CONSTRAINT fk_rental_staff FOREIGN KEY (staff_id) REFERENCES staff (staff_id) ${RULES},
      CONSTRAINT fk_rental_inventory FOREIGN KEY (inventory_id) REFERENCES inventory (inventory_id) ${RULES},
      CONSTRAINT fk_rental_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ${RULES}`,
    staff: `staff_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, first_name VARCHAR(45) NOT NULL,
      last_name VARCHAR(45) NOT NULL, address_id SMALLINT UNSIGNED NOT NULL, picture BLOB DEFAULT NULL,
      email VARCHAR(50) DEFAULT NULL, store_id TINYINT UNSIGNED NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE,
      username VARCHAR(16) NOT NULL, password VARCHAR(40) BINARY DEFAULT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (staff_id), KEY idx_fk_store_id (store_id), KEY idx_fk_address_id (address_id),
      CONSTRAINT fk_staff_store FOREIGN KEY (store_id) REFERENCES store (store_id) ${RULES},
      CONSTRAINT fk_staff_address FOREIGN KEY (address_id) REFERENCES address (address_id) ${RULES}`,
    store: `store_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT, manager_staff_id TINYINT UNSIGNED NOT NULL,
      address_id SMALLINT UNSIGNED NOT NULL, ${TIMESTAMP_COLUMN},
      PRIMARY KEY (store_id), UNIQUE KEY idx_unique_manager (manager_staff_id), KEY idx_fk_address_id (address_id),
      CONSTRAINT fk_store_staff FOREIGN KEY (manager_staff_id) REFERENCES staff (staff_id) ${RULES},
      CONSTRAINT fk_store_address FOREIGN KEY (address_id) REFERENCES address (address_id) ${RULES}`,
  };
}

const FILM_LIST = (actors: string) => `SELECT film.film_id AS FID, film.title AS title, film.description AS description,
    category.name AS category, film.rental_rate AS price, film.length AS length, film.rating AS rating,
    GROUP_CONCAT(${actors} SEPARATOR ', ') AS actors
  FROM category LEFT JOIN film_category ON category.category_id = film_category.category_id
    LEFT JOIN film ON film_category.film_id = film.film_id
    JOIN film_actor ON film.film_id = film_actor.film_id JOIN actor ON film_actor.actor_id = actor.actor_id
  GROUP BY film.film_id, category.name`;
const CAPITALIZED = (column: string) =>
  `CONCAT(UCASE(SUBSTR(${column},1,1)), LCASE(SUBSTR(${column},2,LENGTH(${column}))))`;

/** Sakila's views, as its schema defines them (without naming the sakila database, so they work in any). */
export const SAKILA_VIEWS: Record<string, string> = {
  customer_list: `SELECT cu.customer_id AS ID, CONCAT(cu.first_name, _utf8' ', cu.last_name) AS name,
      a.address AS address, a.postal_code AS \`zip code\`, a.phone AS phone, city.city AS city,
      country.country AS country, IF(cu.active, _utf8'active', _utf8'') AS notes, cu.store_id AS SID
    FROM customer AS cu JOIN address AS a ON cu.address_id = a.address_id JOIN city ON a.city_id = city.city_id
      JOIN country ON city.country_id = country.country_id`,
  film_list: FILM_LIST(`CONCAT(actor.first_name, _utf8' ', actor.last_name)`),
  nicer_but_slower_film_list: FILM_LIST(
    `CONCAT(${CAPITALIZED('actor.first_name')}, _utf8' ', ${CAPITALIZED('actor.last_name')})`,
  ),
  staff_list: `SELECT s.staff_id AS ID, CONCAT(s.first_name, _utf8' ', s.last_name) AS name, a.address AS address,
      a.postal_code AS \`zip code\`, a.phone AS phone, city.city AS city, country.country AS country, s.store_id AS SID
    FROM staff AS s JOIN address AS a ON s.address_id = a.address_id JOIN city ON a.city_id = city.city_id
      JOIN country ON city.country_id = country.country_id`,
  sales_by_store: `SELECT CONCAT(c.city, _utf8',', cy.country) AS store,
      CONCAT(m.first_name, _utf8' ', m.last_name) AS manager, SUM(p.amount) AS total_sales
    FROM payment AS p INNER JOIN rental AS r ON p.rental_id = r.rental_id
      INNER JOIN inventory AS i ON r.inventory_id = i.inventory_id INNER JOIN store AS s ON i.store_id = s.store_id
      INNER JOIN address AS a ON s.address_id = a.address_id INNER JOIN city AS c ON a.city_id = c.city_id
      INNER JOIN country AS cy ON c.country_id = cy.country_id INNER JOIN staff AS m ON s.manager_staff_id = m.staff_id
    GROUP BY s.store_id ORDER BY cy.country, c.city`,
  sales_by_film_category: `SELECT c.name AS category, SUM(p.amount) AS total_sales
    FROM payment AS p INNER JOIN rental AS r ON p.rental_id = r.rental_id
      INNER JOIN inventory AS i ON r.inventory_id = i.inventory_id INNER JOIN film AS f ON i.film_id = f.film_id
      INNER JOIN film_category AS fc ON f.film_id = fc.film_id INNER JOIN category AS c ON fc.category_id = c.category_id
    GROUP BY c.name ORDER BY total_sales DESC`,
  actor_info: `SELECT a.actor_id, a.first_name, a.last_name,
      GROUP_CONCAT(DISTINCT CONCAT(c.name, ': ',
        (SELECT GROUP_CONCAT(f.title ORDER BY f.title SEPARATOR ', ')
           FROM film f INNER JOIN film_category fc ON f.film_id = fc.film_id
             INNER JOIN film_actor fa ON f.film_id = fa.film_id
          WHERE fc.category_id = c.category_id AND fa.actor_id = a.actor_id))
        ORDER BY c.name SEPARATOR '; ') AS film_info
    FROM actor a LEFT JOIN film_actor fa ON a.actor_id = fa.actor_id
      LEFT JOIN film_category fc ON fa.film_id = fc.film_id LEFT JOIN category c ON fc.category_id = c.category_id
    GROUP BY a.actor_id, a.first_name, a.last_name`,
};

/** The triggers that keep `film_text` in step with `film`, as sakila's schema defines them. */
export const SAKILA_TRIGGERS: Record<string, string> = {
  ins_film: `AFTER INSERT ON film FOR EACH ROW BEGIN
      INSERT INTO film_text (film_id, title, description) VALUES (new.film_id, new.title, new.description);
    END`,
  upd_film: `AFTER UPDATE ON film FOR EACH ROW BEGIN
      IF (old.title != new.title) OR (old.description != new.description) OR (old.film_id != new.film_id) THEN
        UPDATE film_text SET title = new.title, description = new.description, film_id = new.film_id
         WHERE film_id = old.film_id;
      END IF;
    END`,
  del_film: `AFTER DELETE ON film FOR EACH ROW BEGIN
      DELETE FROM film_text WHERE film_id = old.film_id;
    END`,
};

/** mulberry32: a small, fast PRNG whose sequence depends on its seed alone. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  /** An integer in [min, max]. */
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  return { next, int, pick };
}
type Random = ReturnType<typeof prng>;

// Syllables for names; a few carry accents, which utf8mb3 holds and a migration must keep.
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'te',
  'su',
  'no',
  'vi',
  'del',
  'mar',
  'an',
  'bel',
  'cor',
  'dan',
  'el',
  'fer',
  'gor',
  'hal',
  'is',
  'jo',
  'ben',
  'ti',
  'mé',
  'ño',
  'zö',
  'quin',
  'sa',
  'ro',
  'wen',
  'ly',
];
const WORDS = [
  'academy',
  'dinosaur',
  'ace',
  'goldfinger',
  'adaptation',
  'holes',
  'affair',
  'prejudice',
  'airport',
  'pollock',
  'alabama',
  'devil',
  'alien',
  'center',
  'amadeus',
  'holy',
  'angels',
  'life',
  'apache',
  'divine',
  'arabia',
  'dogma',
  'attacks',
  'hate',
  'bang',
  'kwai',
  'bear',
  'graceland',
  'bride',
  'intrigue',
  'chamber',
  'italian',
];
const CATEGORIES = [
  'Action',
  'Animation',
  'Children',
  'Classics',
  'Comedy',
  'Documentary',
  'Drama',
  'Family',
  'Foreign',
  'Games',
  'Horror',
  'Music',
  'New',
  'Sci-Fi',
  'Sports',
  'Travel',
];
const LANGUAGES = ['English', 'Italian', 'Japanese', 'Mandarin', 'French', 'German'];
const RATINGS = ['G', 'PG', 'PG-13', 'R', 'NC-17'];
const FEATURES = ['Trailers', 'Commentaries', 'Deleted Scenes', 'Behind the Scenes'];

const capitalized = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
const nameOf = (random: Random, syllables: number) =>
  capitalized(Array.from({ length: syllables }, () => random.pick(SYLLABLES)).join(''));

/** A DATETIME literal `seconds` after 2005-05-24 22:53:30 (sakila's first rental). */
const FIRST_RENTAL = Date.UTC(2005, 4, 24, 22, 53, 30);
const datetime = (seconds: number) =>
  new Date(FIRST_RENTAL + seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
/** A last_update in February 2006, when sakila's rows were last touched. */
const lastUpdate = (random: Random) => datetime(267 * 86_400 + random.int(0, 86_400));

/** A value mysql2 writes into the statement as SQL (a function call), not as a quoted string. */
const sql = (text: string) => ({ toSqlString: () => text });

type Row = unknown[];
type Rows = { columns: string[]; rows: Row[] };

/**
 * Every table's rows. Each reference points at a row that exists (the test checks every foreign
 * key), though the load runs with the checks off: store and staff point at each other, and
 * sakila's own dump loads the same way.
 */
function generate(random: Random, { spatial }: Required<SakilaOptions>): Record<SakilaTable, Rows> {
  const counted = <T>(table: SakilaTable, make: (id: number) => T) =>
    Array.from({ length: SAKILA_ROWS[table] }, (_, i) => make(i + 1));

  const country = counted('country', (id) => [id, `${nameOf(random, 3)}ia`, lastUpdate(random)]);
  const city = counted('city', (id) => [
    id,
    nameOf(random, random.int(2, 4)),
    random.int(1, SAKILA_ROWS.country),
    lastUpdate(random),
  ]);
  const address = counted('address', (id) => {
    const row = [
      id,
      `${random.int(1, 1999)} ${nameOf(random, 2)} ${random.pick(['Street', 'Avenue', 'Parkway', 'Way', 'Drive'])}`,
      // Sakila's first four addresses (the stores' and the staff's) have no address2; the rest an empty one.
      id <= 4 ? null : '',
      nameOf(random, 2).slice(0, 20),
      random.int(1, SAKILA_ROWS.city),
      random.next() < 0.02 ? null : String(random.int(1000, 99999)),
      id <= 4 ? '' : String(random.int(10 ** 10, 10 ** 12 - 1)),
    ];
    // Drawn with or without the column, so that leaving it out changes no other value.
    const point = `POINT(${random.int(-179, 179)}.${random.int(0, 999)} ${random.int(-89, 89)}.${random.int(0, 999)})`;
    return [...row, ...(spatial ? [sql(`ST_GeomFromText('${point}')`)] : []), lastUpdate(random)];
  });
  const language = counted('language', (id) => [id, LANGUAGES[id - 1], lastUpdate(random)]);
  const category = counted('category', (id) => [id, CATEGORIES[id - 1], lastUpdate(random)]);
  const actor = counted('actor', (id) => [
    id,
    nameOf(random, 2).toUpperCase(),
    nameOf(random, 3).toUpperCase(),
    lastUpdate(random),
  ]);
  const film = counted('film', (id) => {
    const features = FEATURES.filter(() => random.next() < 0.5);
    return [
      id,
      `${random.pick(WORDS)} ${random.pick(WORDS)}`.toUpperCase(),
      random.next() < 0.01
        ? null
        : `A ${random.pick(['Epic', 'Touching', 'Fateful', 'Astounding'])} drama of a ${random.pick(WORDS)} and a ${random.pick(WORDS)} who must ${random.pick(['find', 'chase', 'outrace', 'battle'])} a ${random.pick(WORDS)} in ${nameOf(random, 3)}`,
      // Most films are from 2006, as in sakila; a few carry YEAR's edges and none.
      random.pick([2006, 2006, 2006, 2006, 2006, 2006, 2006, 1901, 2155, null]),
      1,
      random.next() < 0.1 ? random.int(2, SAKILA_ROWS.language) : null,
      random.int(3, 7),
      random.pick(['0.99', '2.99', '4.99']),
      random.next() < 0.02 ? null : random.int(46, 185),
      `${random.int(9, 29)}.99`,
      random.next() < 0.02 ? null : random.pick(RATINGS),
      // A SET holds any subset: the empty one, and NULL, included.
      random.next() < 0.02 ? null : features.join(','),
      lastUpdate(random),
    ];
  });
  // Every film has five or six actors, no actor twice in a film: 5,462 pairs in all.
  const filmActor: Row[] = [];
  const sixes = SAKILA_ROWS.film_actor - 5 * SAKILA_ROWS.film;
  for (let filmId = 1; filmId <= SAKILA_ROWS.film; filmId++) {
    const cast = new Set<number>();
    while (cast.size < (filmId <= sixes ? 6 : 5)) cast.add(random.int(1, SAKILA_ROWS.actor));
    for (const actorId of cast) filmActor.push([actorId, filmId, lastUpdate(random)]);
  }
  filmActor.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  const filmCategory = film.map(([filmId]) => [filmId, random.int(1, SAKILA_ROWS.category), lastUpdate(random)]);
  const filmText = film.map(([filmId, title, description]) => [filmId, title, description]);
  // Copies of films, in film order, split between the two stores.
  const inventory = Array.from({ length: SAKILA_ROWS.inventory }, () => random.int(1, SAKILA_ROWS.film))
    .sort((a, b) => a - b)
    .map((filmId, i) => [i + 1, filmId, random.int(1, 2), lastUpdate(random)]);
  // Store 1 and 2 use addresses 1-2, their managers 3-4, and each customer one of the rest.
  const store = counted('store', (id) => [id, id, id, lastUpdate(random)]);
  const staff = counted('staff', (id) => [
    id,
    nameOf(random, 2),
    nameOf(random, 3),
    id + 2,
    // One picture (every byte value, NUL, tab and backslash among them) and one NULL, as in sakila.
    id === 1 ? Buffer.from(Array.from({ length: 4096 }, () => random.int(0, 255))) : null,
    `staff${id}@sakilastaff.example`,
    id,
    1,
    `staff${id}`,
    Array.from({ length: 40 }, () => random.int(0, 15).toString(16)).join(''),
    lastUpdate(random),
  ]);
  const customer = counted('customer', (id) => {
    const first = nameOf(random, 2).toUpperCase();
    const last = nameOf(random, 3).toUpperCase();
    return [
      id,
      random.int(1, 2),
      first,
      last,
      random.next() < 0.02 ? null : `${first}.${last}@sakilacustomer.example`,
      id + 4,
      random.next() < 0.03 ? 0 : 1,
      datetime(-random.int(1, 100) * 86_400),
      random.next() < 0.01 ? null : lastUpdate(random),
    ];
  });
  // Rentals are numbered 1 to 16,049 with five numbers missing (sakila's have gaps too), in time order.
  const rentalIds = Array.from({ length: SAKILA_ROWS.payment }, (_, i) => i + 1);
  for (let gaps = SAKILA_ROWS.payment - SAKILA_ROWS.rental; gaps > 0; gaps--) {
    rentalIds.splice(random.int(0, rentalIds.length - 1), 1);
  }
  let rentedAt = 0;
  const rental = rentalIds.map((id) => {
    rentedAt += random.int(1, 2866);
    return [
      id,
      datetime(rentedAt),
      random.int(1, SAKILA_ROWS.inventory),
      random.int(1, SAKILA_ROWS.customer),
      random.next() < 0.012 ? null : datetime(rentedAt + random.int(3600, 9 * 86_400)),
      random.int(1, 2),
      lastUpdate(random),
    ];
  });
  // A payment for each rental, and five for no rental (their rental_id NULL), in customer order.
  const payments: Row[] = rental.map(([rentalId, rentalDate, , customerId, , staffId]) => [
    customerId,
    staffId,
    rentalId,
    `${random.pick([0, 0.99, 1.99, 2.99, 3.99, 4.99, 5.99, 6.99, 9.99, 11.99]).toFixed(2)}`,
    rentalDate,
    random.next() < 0.01 ? null : lastUpdate(random),
  ]);
  for (let i = payments.length; i < SAKILA_ROWS.payment; i++) {
    payments.push([
      random.int(1, SAKILA_ROWS.customer),
      random.int(1, 2),
      null,
      '0.00',
      datetime(random.int(0, 267 * 86_400)),
      lastUpdate(random),
    ]);
  }
  // By customer, then date (the literals sort as text); a stable sort keeps ties in their order.
  const byText = (x: unknown, y: unknown) => Number(String(x) > String(y)) - Number(String(x) < String(y));
  payments.sort((a, b) => (a[0] as number) - (b[0] as number) || byText(a[4], b[4]));
  const payment = payments.map((row, i) => [i + 1, ...row]);

  const timestamped = ['last_update'];
  return {
    country: { columns: ['country_id', 'country', ...timestamped], rows: country },
    city: { columns: ['city_id', 'city', 'country_id', ...timestamped], rows: city },
    address: {
      columns: [
        'address_id',
        'address',
        'address2',
        'district',
        'city_id',
        'postal_code',
        'phone',
        ...(spatial ? ['location'] : []),
        ...timestamped,
      ],
      rows: address,
    },
    language: { columns: ['language_id', 'name', ...timestamped], rows: language },
    category: { columns: ['category_id', 'name', ...timestamped], rows: category },
    actor: { columns: ['actor_id', 'first_name', 'last_name', ...timestamped], rows: actor },
    film: {
      columns: [
        'film_id',
        'title',
        'description',
        'release_year',
        'language_id',
        'original_language_id',
        'rental_duration',
        'rental_rate',
        'length',
        'replacement_cost',
        'rating',
        'special_features',
        ...timestamped,
      ],
      rows: film,
    },
    film_actor: { columns: ['actor_id', 'film_id', ...timestamped], rows: filmActor },
    film_category: { columns: ['film_id', 'category_id', ...timestamped], rows: filmCategory },
    film_text: { columns: ['film_id', 'title', 'description'], rows: filmText },
    inventory: { columns: ['inventory_id', 'film_id', 'store_id', ...timestamped], rows: inventory },
    store: { columns: ['store_id', 'manager_staff_id', 'address_id', ...timestamped], rows: store },
    staff: {
      columns: [
        'staff_id',
        'first_name',
        'last_name',
        'address_id',
        'picture',
        'email',
        'store_id',
        'active',
        'username',
        'password',
        ...timestamped,
      ],
      rows: staff,
    },
    customer: {
      columns: [
        'customer_id',
        'store_id',
        'first_name',
        'last_name',
        'email',
        'address_id',
        'active',
        'create_date',
        ...timestamped,
      ],
      rows: customer,
    },
    rental: {
      columns: ['rental_id', 'rental_date', 'inventory_id', 'customer_id', 'return_date', 'staff_id', ...timestamped],
      rows: rental,
    },
    payment: {
      columns: ['payment_id', 'customer_id', 'staff_id', 'rental_id', 'amount', 'payment_date', ...timestamped],
      rows: payment,
    },
  };
}

// Rows per INSERT: a few hundred kilobytes of SQL, well under the default max_allowed_packet.
const ROWS_PER_INSERT = 2_000;

/**
 * (Re)creates sakila's sixteen tables, with its keys, foreign keys, indexes and (unless left out)
 * spatial column, views and triggers, in the connection's current database, and fills them with
 * rows generated from `seed` at sakila's row counts ({@link SAKILA_ROWS}).
 */
export async function seedSakila(source: mysql.Connection, opts: SakilaOptions = {}): Promise<void> {
  const options = { ...defaults, ...opts };
  const db = source.promise();
  const [[previous]] = (await db.query('SELECT @@foreign_key_checks AS fk, @@unique_checks AS uniq')) as unknown as [
    { fk: string; uniq: string }[],
  ];
  await db.query('SET foreign_key_checks = 0, unique_checks = 0');
  try {
    await dropSakila(source);
    const ddl = tableDdl(options);
    for (const table of SAKILA_TABLES) await db.query(`CREATE TABLE ${table} (${ddl[table]}) ${TABLE_OPTIONS}`);
    const data = generate(prng(options.seed), options);
    // One commit for all the rows rather than one per statement.
    await db.query('START TRANSACTION');
    for (const table of SAKILA_TABLES) {
      const { columns, rows } = data[table];
      for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
        await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ?`, [
          rows.slice(start, start + ROWS_PER_INSERT),
        ]);
      }
    }
    await db.query('COMMIT');
    if (options.triggers) {
      for (const [name, body] of Object.entries(SAKILA_TRIGGERS)) await db.query(`CREATE TRIGGER ${name} ${body}`);
    }
    if (options.views) {
      for (const [name, select] of Object.entries(SAKILA_VIEWS)) {
        await db.query(`CREATE DEFINER=CURRENT_USER SQL SECURITY INVOKER VIEW ${name} AS ${select}`);
      }
    }
  } finally {
    await db.query('SET foreign_key_checks = ?, unique_checks = ?', [Number(previous!.fk), Number(previous!.uniq)]);
  }
}

/** Drops what {@link seedSakila} makes (its tables' triggers go with them). */
export async function dropSakila(source: mysql.Connection): Promise<void> {
  const db = source.promise();
  const [[previous]] = (await db.query('SELECT @@foreign_key_checks AS fk')) as unknown as [{ fk: string }[]];
  await db.query('SET foreign_key_checks = 0');
  try {
    await db.query(`DROP VIEW IF EXISTS ${Object.keys(SAKILA_VIEWS).join(', ')}`);
    await db.query(`DROP TABLE IF EXISTS ${SAKILA_TABLES.join(', ')}`);
  } finally {
    await db.query('SET foreign_key_checks = ?', [Number(previous!.fk)]);
  }
}
