"""Load test (``make loadtest``): admins who sign in and browse the dashboard,
a requirement's Overview, its Report tabs (first and deeper pages) and
searches. Bounded: run headless with 20 users for 60 s against loopback only.

Environment: ``LOADTEST_USERNAME_PREFIX``, ``LOADTEST_USERS`` and
``LOADTEST_PASSWORD`` (compliance admins ``<prefix>1`` … ``<prefix><users>``,
one per simulated user), ``LOADTEST_REQUIREMENT`` (the id of an All Learners
requirement). ``manage.py loadtest`` sets them and serves the app with gunicorn.
"""

import itertools
import os
import random
import re

from locust import HttpUser, between, task

STATUSES = ["compliant", "expiring_soon", "expired", "in_progress", "not_started"]
SEARCHES = ["smi", "ada", "learner1", "berg", "rosa tanaka"]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
#: Each simulated user signs in with an account of its own.
ACCOUNT_NUMBERS = itertools.count()


class PortalAdmin(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self):
        self.requirement = int(os.environ["LOADTEST_REQUIREMENT"])
        form = self.client.get("/accounts/login/", name="sign-in form")
        token = CSRF_INPUT.search(form.text).group(1)
        with self.client.post(
            "/accounts/login/",
            {
                "username": self.username(),
                "password": os.environ["LOADTEST_PASSWORD"],
                "csrfmiddlewaretoken": token,
                "next": "/learning/compliance/",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
            catch_response=True,
        ) as response:
            if "/accounts/login/" in response.url:
                response.failure("sign-in refused")

    @staticmethod
    def username() -> str:
        number = next(ACCOUNT_NUMBERS) % int(os.environ["LOADTEST_USERS"]) + 1
        return f"{os.environ['LOADTEST_USERNAME_PREFIX']}{number}"

    @task(2)
    def dashboard(self):
        self.client.get("/learning/compliance/", name="dashboard")

    @task(2)
    def overview(self):
        self.client.get(f"/learning/compliance/{self.requirement}/", name="overview")

    @task(4)
    def report_tab(self):
        status = random.choice(STATUSES)
        self.client.get(f"/learning/compliance/{self.requirement}/report/?status={status}", name="report first page")

    @task(2)
    def report_deep_page(self):
        status = random.choice(STATUSES[:3])
        page = random.randint(2, 400)  # past the end is clamped to the last page
        self.client.get(
            f"/learning/compliance/{self.requirement}/report/?status={status}&page={page}", name="report deep page"
        )

    @task(2)
    def search(self):
        query = random.choice(SEARCHES)
        self.client.get(
            f"/learning/compliance/{self.requirement}/report/?status=compliant&q={query}",
            headers={"HX-Request": "true"},
            name="report search (htmx)",
        )
