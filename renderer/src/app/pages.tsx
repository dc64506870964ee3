// Which component draws each page of the frame. Feature folders own their pages; this table
// only maps the contract's page ids to them.
import type { ComponentType } from 'react';
import type { PageId } from '@contract/index';
import { WorklistPage } from '../features/worklist/WorklistPage';
import { ViewerPage } from '../features/viewer/ViewerPage';
import { ReportsPage } from '../features/reports/ReportsPage';
import { ResearchPage } from '../features/research/ResearchPage';
import { FederationPage } from '../features/federation/FederationPage';
import { AdminPage } from '../features/admin/AdminPage';
import { MessagesPage } from '../features/messages/MessagesPage';
import { PatientPage } from '../features/patient/PatientPage';
import { AboutPage } from '../features/about/AboutPage';
import { AccountPanel } from '../features/auth/AccountPanel';
import { UploadsPage } from '../features/uploads/UploadsPage';
import { ReviewsPage } from '../features/reviews/ReviewsPage';
import { HospitalServerPage } from '../features/pacs/HospitalServerPage';
import { TipsPage } from '../features/care/TipsPage';
import { CareTeamPage } from '../features/care/CareTeamPage';
import { EmergencyPage } from '../features/care/EmergencyPage';

export const PAGE_COMPONENTS: Record<PageId, ComponentType> = {
  worklist: WorklistPage,
  viewer: ViewerPage,
  reports: ReportsPage,
  research: ResearchPage,
  federation: FederationPage,
  admin: AdminPage,
  messages: MessagesPage,
  patient: PatientPage,
  uploads: UploadsPage,
  reviews: ReviewsPage,
  pacs: HospitalServerPage,
  tips: TipsPage,
  care: CareTeamPage,
  emergency: EmergencyPage,
  account: AccountPanel,
  about: AboutPage,
};
