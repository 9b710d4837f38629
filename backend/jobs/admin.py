from django.contrib import admin

from backend.jobs.models import Application, Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "client", "city", "status", "shift_start", "slots", "pay_rate", "created_at"]
    list_filter = ["status", "created_at"]
    list_select_related = ["client"]
    search_fields = ["title", "city", "client__email"]
    raw_id_fields = ["client"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "shift_start"
    ordering = ["-created_at", "-id"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "applicant", "status", "created_at"]
    list_filter = ["status", "created_at"]
    list_select_related = ["job", "applicant"]
    search_fields = ["applicant__email", "job__title"]
    raw_id_fields = ["job", "applicant"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["-created_at", "-id"]
