from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from backend.common.money import Currency


class UserManager(BaseUserManager):
    """Users log in with their email; every user gets a Profile and AccountDetails at creation."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        Profile.objects.using(self._db).create(user=user, display_name=email.split("@")[0][:80])
        AccountDetails.objects.using(self._db).create(user=user)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email


class Profile(models.Model):
    """Public face of a user. Rating average and count are derived from reviews, never stored."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=80)
    headline = models.CharField(max_length=140, blank=True)
    bio = models.TextField(max_length=4000, blank=True)
    skills = models.JSONField(default=list, blank=True)
    city = models.CharField(max_length=80, blank=True)
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(hourly_rate__isnull=True) | Q(hourly_rate__gte=0), name="profile_hourly_rate_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class AccountDetails(models.Model):
    """Private payout details. Balances are derived from succeeded payments, never stored."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="account_details")
    bank_name = models.CharField(max_length=120, blank=True)
    account_holder = models.CharField(max_length=120, blank=True)
    account_number = models.CharField(max_length=34, blank=True)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account details"
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__in=Currency.values), name="account_details_currency_supported"
            ),
        ]

    def __str__(self) -> str:
        return f"Account details of {self.user_id}"

    @property
    def masked_account_number(self) -> str:
        number = self.account_number
        if len(number) <= 4:
            return "*" * len(number)
        return "*" * (len(number) - 4) + number[-4:]
