"""The Salesforce objects the product reads: the fields a sync asks for and the ones that exist.

`read` is what a sync's query selects by default (a connection may add custom or further
standard fields); `fields` is every standard field of the object, the names a mapping rule may
use without declaring them. Both come from this one table, so a field the connector reads is
always one the rules know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["SALESFORCE_OBJECTS", "SYSTEM_FIELDS", "SalesforceObject"]

SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
"""Read on every object: the key, the deletion flag and the times a cursor can use."""

_AUDIT = (*SYSTEM_FIELDS, "CreatedById", "LastModifiedById")
_ACTIVITY = (
    "WhoId WhatId AccountId OwnerId Subject ActivityDate Description Type IsArchived "
    "IsRecurrence ReminderDateTime IsReminderSet WhoCount WhatCount RecurrenceActivityId "
    "IsHighPriority IsVisibleInSelfService"
)


@dataclass(frozen=True, slots=True)
class SalesforceObject:
    name: str
    read: tuple[str, ...]
    """The fields a sync selects, system fields first, in query order."""
    fields: frozenset[str]
    """Every standard field of the object (the read ones among them)."""


def _object(name: str, read: str, more: str = "") -> SalesforceObject:
    selected = (*SYSTEM_FIELDS, *read.split())
    return SalesforceObject(name, selected, frozenset((*_AUDIT, *selected, *more.split())))


SALESFORCE_OBJECTS: Mapping[str, SalesforceObject] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            _object(
                "User",
                "Name Email IsActive UserRoleId ManagerId Department",
                "Username FirstName LastName Alias Title Division ProfileId UserType "
                "TimeZoneSidKey CompanyName",
            ),
            _object(
                "Account",
                "Name Industry Type AnnualRevenue NumberOfEmployees OwnerId",
                "RecordTypeId ParentId BillingStreet BillingCity BillingState BillingPostalCode "
                "BillingCountry ShippingStreet ShippingCity ShippingState ShippingPostalCode "
                "ShippingCountry Phone Fax Website Description AccountSource Rating Ownership Sic "
                "TickerSymbol AccountNumber Site CurrencyIsoCode LastActivityDate",
            ),
            _object(
                "Contact",
                "FirstName LastName Email Title AccountId OwnerId",
                "Name Salutation Department Phone MobilePhone HomePhone OtherPhone MailingStreet "
                "MailingCity MailingState MailingPostalCode MailingCountry LeadSource ReportsToId "
                "HasOptedOutOfEmail IsEmailBounced EmailBouncedDate EmailBouncedReason Birthdate "
                "Description DoNotCall LastActivityDate",
            ),
            _object(
                "Lead",
                "FirstName LastName Email Company Status OwnerId IsConverted",
                "Name Salutation Title Phone MobilePhone LeadSource Industry Rating "
                "NumberOfEmployees AnnualRevenue ConvertedDate ConvertedAccountId "
                "ConvertedContactId ConvertedOpportunityId Street City State PostalCode Country "
                "Website Description IsUnreadByOwner HasOptedOutOfEmail",
            ),
            _object(
                "Opportunity",
                "Name AccountId OwnerId StageName Amount CloseDate Probability "
                "ForecastCategoryName IsClosed IsWon Type LeadSource",
                "RecordTypeId ExpectedRevenue TotalOpportunityQuantity ForecastCategory NextStep "
                "Description CampaignId Pricebook2Id HasOpportunityLineItem FiscalQuarter "
                "FiscalYear Fiscal LastActivityDate LastStageChangeDate ContactId CurrencyIsoCode "
                "IsPrivate LastViewedDate LastReferencedDate HasOpenActivity HasOverdueTask",
            ),
            _object(
                "OpportunityHistory",
                "OpportunityId StageName Amount CloseDate Probability ForecastCategory CreatedById",
                "ExpectedRevenue PrevAmount PrevCloseDate",
            ),
            _object("OpportunityContactRole", "OpportunityId ContactId Role IsPrimary"),
            _object(
                "OpportunityStage",
                "MasterLabel ApiName DefaultProbability ForecastCategoryName IsClosed IsWon "
                "IsActive SortOrder",
                "ForecastCategory Description",
            ),
            _object(
                "Task",
                "Subject TaskSubtype Status WhoId WhatId OwnerId ActivityDate CallType "
                "CallDurationInSeconds CallDisposition Description",
                f"{_ACTIVITY} Priority IsClosed CallObject CompletedDateTime",
            ),
            _object(
                "Event",
                "Subject StartDateTime EndDateTime WhoId WhatId OwnerId Description",
                f"{_ACTIVITY} Location ActivityDateTime DurationInMinutes IsAllDayEvent ShowAs "
                "EventSubtype IsPrivate IsChild IsGroupEvent GroupEventType",
            ),
            _object(
                "EmailMessage",
                "Subject Incoming FromAddress ToAddress MessageDate RelatedToId HasAttachment "
                "Status ActivityId TextBody",
                "ParentId ReplyToEmailMessageId ThreadIdentifier MessageIdentifier HtmlBody "
                "Headers FromName CcAddress BccAddress ToIds CcIds BccIds ValidatedFromAddress "
                "IsBounced IsExternallyVisible IsClientManaged IsTracked IsOpened "
                "FirstOpenedDate LastOpenedDate EmailTemplateId IsPrivateDraft",
            ),
        )
    }
)
