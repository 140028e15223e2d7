-- Customers and their contracts, as tickets (and later ERP connectors) bring them in. A ticket
-- links to its customer by customer_id; the customer document is kept as given.
CREATE TABLE ticket.customer (
    id              text        PRIMARY KEY,
    firstname       text,
    lastname        text,
    email           text,
    phone           text,
    address         text,
    company         text,
    document        jsonb       NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    search          text GENERATED ALWAYS AS (lower(
        coalesce(firstname, '') || ' ' || coalesce(lastname, '') || ' ' || coalesce(email, '')
        || ' ' || coalesce(phone, '') || ' ' || coalesce(address, '') || ' '
        || coalesce(company, ''))) STORED
);
CREATE INDEX customer_email_idx ON ticket.customer (lower(email));

CREATE TABLE ticket.contract (
    id          text        PRIMARY KEY,
    customer_id text        NOT NULL REFERENCES ticket.customer (id) ON DELETE CASCADE,
    document    jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contract_customer_idx ON ticket.contract (customer_id);
