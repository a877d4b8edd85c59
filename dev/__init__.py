"""Developer runners: run one function like `sam local invoke` (``make invoke``), read its logs
(``make logs``), and write the API Gateway events in events/ from the scenario catalog."""
